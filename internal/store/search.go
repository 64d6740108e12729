package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/search"
)

var _ search.Store = (*Store)(nil)

// The search tables are plain SQL rather than ent schemas: the full-text index is an FTS5 virtual
// table kept by triggers on SQLite and a generated tsvector column with a GIN index on PostgreSQL,
// neither of which ent's migrations can express. The vocabulary tables behind typo correction are
// ordinary tables, the same on both engines.
var searchSchemaCommon = []string{
	`CREATE INDEX IF NOT EXISTS search_documents_source ON search_documents (source)`,
	`CREATE INDEX IF NOT EXISTS search_documents_listing ON search_documents (sort_title, id)`,
	`CREATE TABLE IF NOT EXISTS search_fields (doc_id BIGINT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS search_fields_doc ON search_fields (doc_id)`,
	`CREATE INDEX IF NOT EXISTS search_fields_match ON search_fields (key, value, doc_id)`,
	`CREATE TABLE IF NOT EXISTS search_sources (source TEXT PRIMARY KEY, version BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS search_terms (term TEXT PRIMARY KEY, docs BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS search_trigrams (trigram TEXT NOT NULL, term TEXT NOT NULL, PRIMARY KEY (trigram, term))`,
	`CREATE INDEX IF NOT EXISTS search_trigrams_term ON search_trigrams (term)`,
	`CREATE TABLE IF NOT EXISTS search_indexer (id INTEGER PRIMARY KEY, catalog_version BIGINT NOT NULL,
		lease_owner TEXT NOT NULL DEFAULT '', lease_until BIGINT NOT NULL DEFAULT 0)`,
	`INSERT INTO search_indexer (id, catalog_version) VALUES (1, 0) ON CONFLICT DO NOTHING`,
}

const searchDocumentColumns = `source TEXT NOT NULL, type TEXT NOT NULL, title TEXT NOT NULL,
	names TEXT NOT NULL, headings TEXT NOT NULL, body TEXT NOT NULL, location TEXT NOT NULL,
	fields TEXT NOT NULL, vocab TEXT NOT NULL, sort_title TEXT NOT NULL, identifier TEXT NOT NULL DEFAULT ''`

var searchSchemaSQLite = []string{
	`CREATE TABLE IF NOT EXISTS search_documents (id INTEGER PRIMARY KEY AUTOINCREMENT, ` + searchDocumentColumns + `)`,
	// External content: the text is stored once, in search_documents; the index reads it back for
	// highlights. porter stems English; remove_diacritics lets "cafe" find "café".
	`CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(title, names, headings, body,
		content='search_documents', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')`,
	`CREATE TRIGGER IF NOT EXISTS search_documents_ai AFTER INSERT ON search_documents BEGIN
		INSERT INTO search_fts (rowid, title, names, headings, body) VALUES (new.id, new.title, new.names, new.headings, new.body);
	END`,
	`CREATE TRIGGER IF NOT EXISTS search_documents_ad AFTER DELETE ON search_documents BEGIN
		INSERT INTO search_fts (search_fts, rowid, title, names, headings, body) VALUES ('delete', old.id, old.title, old.names, old.headings, old.body);
	END`,
}

var searchSchemaPostgres = []string{
	// Weights: A for what names the document, B for headings, D for body text; ts_rank's default
	// weights then rank a title match ten times a body match.
	`CREATE TABLE IF NOT EXISTS search_documents (id BIGSERIAL PRIMARY KEY, ` + searchDocumentColumns + `,
		tsv tsvector GENERATED ALWAYS AS (
			setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', names), 'A') ||
			setweight(to_tsvector('english', headings), 'B') || setweight(to_tsvector('english', body), 'D')) STORED)`,
	`CREATE INDEX IF NOT EXISTS search_documents_tsv ON search_documents USING gin (tsv)`,
}

// MigrateSearch creates the search tables. It is idempotent and safe to run from several
// replicas; Main runs it after Migrate.
func (s *Store) MigrateSearch(ctx context.Context) error {
	stmts := append(append([]string{}, searchSchemaSQLite...), searchSchemaCommon...)
	if s.dialect == dialect.Postgres {
		stmts = append(append([]string{}, searchSchemaPostgres...), searchSchemaCommon...)
	}
	if err := s.migrateSQL(ctx, "portal-migrate-search", stmts); err != nil {
		return err
	}
	// Tables created before the identifier column existed get it.
	if _, err := s.db.ExecContext(ctx, `SELECT identifier FROM search_documents LIMIT 0`); err != nil {
		return s.migrateSQL(ctx, "portal-migrate-search", []string{`ALTER TABLE search_documents ADD COLUMN identifier TEXT NOT NULL DEFAULT ''`})
	}
	return nil
}

// migrateSQL runs DDL in one transaction; on PostgreSQL under an advisory lock, since replicas
// starting together would race to create the same tables.
func (s *Store) migrateSQL(ctx context.Context, lock string, stmts []string) error {
	return s.rawTx(ctx, func(tx *sql.Tx) error {
		if s.dialect == dialect.Postgres {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", lock); err != nil {
				return errs.Wrap(errs.Unavailable, err, "cannot lock for migration: %v", err)
			}
		}
		for _, q := range stmts {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return errs.Wrap(errs.Unavailable, err, "search migration failed: %v", err)
			}
		}
		return nil
	})
}

// rawTx runs fn in a database/sql transaction, for statements ent cannot write.
func (s *Store) rawTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return inTx(func() (*sql.Tx, error) { return s.db.BeginTx(ctx, nil) }, fn)
}

// rebind turns ? placeholders into PostgreSQL's $n. The SQL here never has ? inside a literal.
func (s *Store) rebind(q string) string {
	if s.dialect != dialect.Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func anySlice[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// ClaimIndexer implements search.Store.
func (s *Store) ClaimIndexer(ctx context.Context, owner string, lease time.Duration) (int64, bool, error) {
	now := s.now()
	var version int64
	var holder string
	err := s.rawTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE search_indexer SET lease_owner = ?, lease_until = ?
			WHERE id = 1 AND (lease_owner = ? OR lease_until < ?)`),
			owner, now.Add(lease).UnixMilli(), owner, now.UnixMilli()); err != nil {
			return dbErr(err, "claim the search indexer")
		}
		return dbErr(tx.QueryRowContext(ctx, `SELECT catalog_version, lease_owner FROM search_indexer WHERE id = 1`).
			Scan(&version, &holder), "read the search indexer")
	})
	if err != nil {
		return 0, false, err
	}
	return version, holder == owner, nil
}

// SearchSources implements search.Store.
func (s *Store) SearchSources(ctx context.Context, prefix string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT DISTINCT source FROM search_documents WHERE source >= ? AND source < ?`),
		prefix, prefix+"\U0010FFFF")
	if err != nil {
		return nil, dbErr(err, "list search sources")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var src string
		if err := rows.Scan(&src); err != nil {
			return nil, dbErr(err, "list search sources")
		}
		out = append(out, src)
	}
	return out, dbErr(rows.Err(), "list search sources")
}

// SimilarTerms implements search.Store.
func (s *Store) SimilarTerms(ctx context.Context, trigrams []string, limit int) ([]string, error) {
	if len(trigrams) == 0 {
		return nil, nil
	}
	q := s.rebind(`SELECT term FROM search_trigrams WHERE trigram IN (` + placeholders(len(trigrams)) + `)
		GROUP BY term ORDER BY count(*) DESC, term LIMIT ?`)
	rows, err := s.db.QueryContext(ctx, q, append(anySlice(trigrams), limit)...)
	if err != nil {
		return nil, dbErr(err, "read search vocabulary")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, dbErr(err, "read search vocabulary")
		}
		out = append(out, t)
	}
	return out, dbErr(rows.Err(), "read search vocabulary")
}

// ApplySearch implements search.Store.
func (s *Store) ApplySearch(ctx context.Context, updates []search.SourceUpdate, cursor *search.Cursor) error {
	return s.rawTx(ctx, func(tx *sql.Tx) error {
		if cursor != nil {
			res, err := tx.ExecContext(ctx, s.rebind(`UPDATE search_indexer SET catalog_version = ? WHERE id = 1 AND lease_owner = ?`),
				cursor.Version, cursor.Owner)
			if err != nil {
				return dbErr(err, "move the search indexer")
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return errs.E(errs.Conflict, "the search indexer lease of %s ran out", cursor.Owner)
			}
		}
		live, err := s.newerSources(ctx, tx, updates)
		if err != nil {
			return err
		}
		delta := map[string]int64{}
		if err := s.removeDocuments(ctx, tx, live, delta); err != nil {
			return err
		}
		for _, u := range live {
			if err := s.insertDocuments(ctx, tx, u, delta); err != nil {
				return err
			}
		}
		return s.applyVocabulary(ctx, tx, delta)
	})
}

// newerSources records each update's version and returns the updates not older than what is stored.
func (s *Store) newerSources(ctx context.Context, tx *sql.Tx, updates []search.SourceUpdate) ([]search.SourceUpdate, error) {
	// The last update of a source in a batch is the one that counts.
	latest := map[string]int{}
	for i, u := range updates {
		latest[u.Source] = i
	}
	names := make([]string, 0, len(latest))
	for src := range latest {
		names = append(names, src)
	}
	sort.Strings(names)
	stored := map[string]int64{}
	for _, chunk := range chunks(names) {
		rows, err := tx.QueryContext(ctx, s.rebind(`SELECT source, version FROM search_sources WHERE source IN (`+placeholders(len(chunk))+`)`), anySlice(chunk)...)
		if err != nil {
			return nil, dbErr(err, "read search sources")
		}
		for rows.Next() {
			var src string
			var v int64
			if err := rows.Scan(&src, &v); err != nil {
				rows.Close()
				return nil, dbErr(err, "read search sources")
			}
			stored[src] = v
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, dbErr(err, "read search sources")
		}
	}
	var out []search.SourceUpdate
	for _, src := range names {
		u := updates[latest[src]]
		if v, ok := stored[src]; ok && v > u.Version {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO search_sources (source, version) VALUES (?, ?)
			ON CONFLICT (source) DO UPDATE SET version = excluded.version`), src, u.Version); err != nil {
			return nil, dbErr(err, "record search source %s", src)
		}
		out = append(out, u)
	}
	return out, nil
}

// removeDocuments deletes the documents of the updated sources, counting the vocabulary they took away.
func (s *Store) removeDocuments(ctx context.Context, tx *sql.Tx, updates []search.SourceUpdate, delta map[string]int64) error {
	sources := make([]string, len(updates))
	for i, u := range updates {
		sources[i] = u.Source
	}
	for _, chunk := range chunks(sources) {
		in := placeholders(len(chunk))
		rows, err := tx.QueryContext(ctx, s.rebind(`SELECT id, vocab FROM search_documents WHERE source IN (`+in+`)`), anySlice(chunk)...)
		if err != nil {
			return dbErr(err, "read old search documents")
		}
		var ids []any
		for rows.Next() {
			var id int64
			var vocab string
			if err := rows.Scan(&id, &vocab); err != nil {
				rows.Close()
				return dbErr(err, "read old search documents")
			}
			ids = append(ids, id)
			for _, t := range strings.Fields(vocab) {
				delta[t]--
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return dbErr(err, "read old search documents")
		}
		for _, idChunk := range chunks(ids) {
			if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM search_fields WHERE doc_id IN (`+placeholders(len(idChunk))+`)`), idChunk...); err != nil {
				return dbErr(err, "delete search fields")
			}
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM search_documents WHERE source IN (`+in+`)`), anySlice(chunk)...); err != nil {
			return dbErr(err, "delete search documents")
		}
	}
	return nil
}

func (s *Store) insertDocuments(ctx context.Context, tx *sql.Tx, u search.SourceUpdate, delta map[string]int64) error {
	insert := s.rebind(`INSERT INTO search_documents (source, type, title, names, headings, body, location, fields, vocab, sort_title, identifier)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`)
	var fieldRows []any
	nFields := 0
	for _, d := range u.Documents {
		fields, err := json.Marshal(d.Fields)
		if err != nil {
			return errs.Wrap(errs.Internal, err, "encode search document fields")
		}
		var id int64
		if err := tx.QueryRowContext(ctx, insert, u.Source, d.Type, d.Title, d.Names, d.Headings, d.Text, d.Location,
			string(fields), strings.Join(d.Vocabulary, " "), strings.ToLower(d.Title), strings.ToLower(d.Identifier)).Scan(&id); err != nil {
			return dbErr(err, "write search document of %s", u.Source)
		}
		for _, t := range d.Vocabulary {
			delta[t]++
		}
		keys := make([]string, 0, len(d.Fields))
		for k := range d.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fieldRows = append(fieldRows, id, k, strings.ToLower(d.Fields[k]))
			nFields++
		}
	}
	for start := 0; start < nFields; start += 500 {
		n := min(500, nFields-start)
		values := strings.TrimSuffix(strings.Repeat("(?, ?, ?),", n), ",")
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO search_fields (doc_id, key, value) VALUES `+values),
			fieldRows[start*3:(start+n)*3]...); err != nil {
			return dbErr(err, "write search fields of %s", u.Source)
		}
	}
	return nil
}

// applyVocabulary moves the document counts of vocabulary words. A word seen for the first time
// gets its trigrams; a word no document has any more loses them. Words are visited in order so
// that concurrent writers on PostgreSQL lock rows in the same order and cannot deadlock.
func (s *Store) applyVocabulary(ctx context.Context, tx *sql.Tx, delta map[string]int64) error {
	terms := make([]string, 0, len(delta))
	for t, d := range delta {
		if d != 0 {
			terms = append(terms, t)
		}
	}
	sort.Strings(terms)
	upsert := s.rebind(`INSERT INTO search_terms (term, docs) VALUES (?, ?)
		ON CONFLICT (term) DO UPDATE SET docs = search_terms.docs + excluded.docs RETURNING docs`)
	var fresh, gone []string
	for _, t := range terms {
		var docs int64
		if err := tx.QueryRowContext(ctx, upsert, t, delta[t]).Scan(&docs); err != nil {
			return dbErr(err, "count search vocabulary")
		}
		switch {
		case docs <= 0:
			gone = append(gone, t)
		case docs == delta[t]:
			fresh = append(fresh, t)
		}
	}
	var grams []any
	for _, t := range fresh {
		for _, g := range search.Trigrams(t) {
			grams = append(grams, g, t)
		}
	}
	for start := 0; start < len(grams); start += 1000 {
		n := min(1000, len(grams)-start) / 2
		values := strings.TrimSuffix(strings.Repeat("(?, ?),", n), ",")
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO search_trigrams (trigram, term) VALUES `+values+` ON CONFLICT DO NOTHING`),
			grams[start:start+2*n]...); err != nil {
			return dbErr(err, "write search vocabulary")
		}
	}
	for _, chunk := range chunks(gone) {
		in := placeholders(len(chunk))
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM search_trigrams WHERE term IN (`+in+`)`), anySlice(chunk)...); err != nil {
			return dbErr(err, "prune search vocabulary")
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM search_terms WHERE docs <= 0 AND term IN (`+in+`)`), anySlice(chunk)...); err != nil {
			return dbErr(err, "prune search vocabulary")
		}
	}
	return nil
}

// SearchDocuments implements search.Store.
func (s *Store) SearchDocuments(ctx context.Context, q search.StoreQuery) ([]search.Hit, int, error) {
	where, args := s.searchFilters(q)
	if len(q.Groups) == 0 {
		return s.listDocuments(ctx, q, where, args)
	}
	if s.dialect == dialect.Postgres {
		return s.searchPostgres(ctx, q, where, args)
	}
	return s.searchSQLite(ctx, q, where, args)
}

// searchFilters is the WHERE clause (on documents aliased d) for types and field filters.
func (s *Store) searchFilters(q search.StoreQuery) (string, []any) {
	var conds []string
	var args []any
	if len(q.Types) > 0 {
		conds = append(conds, "d.type IN ("+placeholders(len(q.Types))+")")
		args = append(args, anySlice(q.Types)...)
	}
	keys := make([]string, 0, len(q.Filters))
	for k := range q.Filters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vs := q.Filters[k]
		if len(vs) == 0 {
			continue
		}
		conds = append(conds, "EXISTS (SELECT 1 FROM search_fields f WHERE f.doc_id = d.id AND f.key = ? AND f.value IN ("+placeholders(len(vs))+"))")
		args = append(args, k)
		args = append(args, anySlice(vs)...)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " AND " + strings.Join(conds, " AND "), args
}

func (s *Store) listDocuments(ctx context.Context, q search.StoreQuery, where string, args []any) ([]search.Hit, int, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT count(*) FROM search_documents d WHERE 1 = 1`+where), args...).Scan(&total); err != nil {
		return nil, 0, dbErr(err, "count search documents")
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT d.type, d.title, d.body, d.location, d.fields, '', ''
		FROM search_documents d WHERE 1 = 1`+where+` ORDER BY d.sort_title, d.id LIMIT ? OFFSET ?`),
		append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, 0, dbErr(err, "list search documents")
	}
	hits, err := scanHits(rows)
	return hits, total, err
}

// ftsMatch is the FTS5 query for the groups: each word quoted (so nothing in it is syntax), a
// prefix term marked with *.
func ftsMatch(groups [][]search.Term) string {
	parts := make([]string, len(groups))
	for i, g := range groups {
		alts := make([]string, len(g))
		for j, t := range g {
			alts[j] = `"` + strings.ReplaceAll(t.Word, `"`, `""`) + `"`
			if t.Prefix {
				alts[j] += "*"
			}
		}
		parts[i] = "(" + strings.Join(alts, " OR ") + ")"
	}
	return strings.Join(parts, " AND ")
}

// exactOrder ranks documents whose title or identifier is exactly one of the query's phrases
// first: someone who typed a service's whole name wants that service, not the page that mentions
// it most.
func exactOrder(q search.StoreQuery) (string, []any) {
	if len(q.Exact) == 0 {
		return "0", nil
	}
	in := placeholders(len(q.Exact))
	args := append(anySlice(q.Exact), anySlice(q.Exact)...)
	return "CASE WHEN d.sort_title IN (" + in + ") OR d.identifier IN (" + in + ") THEN 0 ELSE 1 END", args
}

func (s *Store) searchSQLite(ctx context.Context, q search.StoreQuery, where string, args []any) ([]search.Hit, int, error) {
	match := ftsMatch(q.Groups)
	from := ` FROM search_fts JOIN search_documents d ON d.id = search_fts.rowid WHERE search_fts MATCH ?` + where
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*)`+from, append([]any{match}, args...)...).Scan(&total); err != nil {
		return nil, 0, dbErr(err, "count search matches")
	}
	// bm25 weights per column (title, names, headings, body): what names a document counts ten
	// times what its body says, headings three times.
	exact, exactArgs := exactOrder(q)
	query := `SELECT d.type, d.title, d.body, d.location, d.fields,
		highlight(search_fts, 0, ?, ?), snippet(search_fts, 3, ?, ?, '…', 32)` + from +
		` ORDER BY ` + exact + `, bm25(search_fts, 10.0, 10.0, 3.0, 1.0), d.id LIMIT ? OFFSET ?`
	all := append([]any{q.PreTag, q.PostTag, q.PreTag, q.PostTag, match}, args...)
	all = append(all, exactArgs...)
	rows, err := s.db.QueryContext(ctx, query, append(all, q.Limit, q.Offset)...)
	if err != nil {
		return nil, 0, dbErr(err, "search documents")
	}
	hits, err := scanHits(rows)
	return hits, total, err
}

// tsQuery is the to_tsquery text for the groups. Words are letters and digits only (see
// search.Words), so none of tsquery's operators can appear in them.
func tsQuery(groups [][]search.Term) string {
	parts := make([]string, len(groups))
	for i, g := range groups {
		alts := make([]string, len(g))
		for j, t := range g {
			alts[j] = t.Word
			if t.Prefix {
				alts[j] += ":*"
			}
		}
		parts[i] = "(" + strings.Join(alts, " | ") + ")"
	}
	return strings.Join(parts, " & ")
}

func (s *Store) searchPostgres(ctx context.Context, q search.StoreQuery, where string, args []any) ([]search.Hit, int, error) {
	tsq := tsQuery(q.Groups)
	var total int
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT count(*) FROM search_documents d
		WHERE d.tsv @@ to_tsquery('english', ?)`+where), append([]any{tsq}, args...)...).Scan(&total); err != nil {
		return nil, 0, dbErr(err, "count search matches")
	}
	tags := fmt.Sprintf(`StartSel="%s", StopSel="%s"`, q.PreTag, q.PostTag)
	exact, exactArgs := exactOrder(q)
	query := `WITH hits AS (
			SELECT d.id, ` + exact + ` AS exact, ts_rank(d.tsv, to_tsquery('english', ?)) AS score FROM search_documents d
			WHERE d.tsv @@ to_tsquery('english', ?)` + where + `
			ORDER BY exact, score DESC, d.id LIMIT ? OFFSET ?)
		SELECT d.type, d.title, d.body, d.location, d.fields,
			ts_headline('english', d.title, to_tsquery('english', ?), ?),
			ts_headline('english', d.body, to_tsquery('english', ?), ?)
		FROM hits JOIN search_documents d ON d.id = hits.id ORDER BY hits.exact, hits.score DESC, d.id`
	all := append(exactArgs, tsq, tsq)
	all = append(all, args...)
	all = append(all, q.Limit, q.Offset, tsq, tags+", HighlightAll=true", tsq, tags+", MaxWords=35, MinWords=15")
	rows, err := s.db.QueryContext(ctx, s.rebind(query), all...)
	if err != nil {
		return nil, 0, dbErr(err, "search documents")
	}
	hits, err := scanHits(rows)
	return hits, total, err
}

func scanHits(rows *sql.Rows) ([]search.Hit, error) {
	defer rows.Close()
	var out []search.Hit
	for rows.Next() {
		var h search.Hit
		var fields string
		if err := rows.Scan(&h.Document.Type, &h.Document.Title, &h.Document.Text, &h.Document.Location, &fields,
			&h.TitleHighlight, &h.TextHighlight); err != nil {
			return nil, dbErr(err, "read search results")
		}
		if err := json.Unmarshal([]byte(fields), &h.Document.Fields); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "stored search fields are not JSON")
		}
		out = append(out, h)
	}
	return out, dbErr(rows.Err(), "read search results")
}
