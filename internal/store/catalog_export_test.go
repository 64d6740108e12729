package store

import (
	"context"

	"github.com/billpay/portal/ent"
)

// RestitchAll rebuilds every final entity from what the database holds, as a stitch that reads everything
// does; it reports how many it had to write.
func (s *Store) RestitchAll(ctx context.Context) (int, error) {
	var written int
	err := s.withTx(ctx, func(tx *ent.Tx) error {
		refs, err := tx.RefreshState.Query().Select("entity_ref").Strings(ctx)
		if err != nil {
			return err
		}
		changes, err := s.stitchWith(ctx, tx, refs, nil)
		written = len(changes)
		return err
	})
	return written, err
}
