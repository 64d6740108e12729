package store

import "database/sql"

// DB exposes the database handle to the external tests, which read columns as stored.
func (s *Store) DB() *sql.DB { return s.db }
