package store

import (
	"context"
	"encoding/json"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"entgo.io/ent/dialect"

	"github.com/billpay/portal/ent"
	"github.com/billpay/portal/ent/techdocsbuild"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/techdocs"
	tdservice "github.com/billpay/portal/internal/techdocs/service"
)

var _ tdservice.BuildStore = (*Store)(nil)

func fromDBDocsBuild(r *ent.TechDocsBuild) (tdservice.Build, error) {
	b := tdservice.Build{EntityRef: r.ID, State: r.State, StartedAt: utc(r.StartedAt), FinishedAt: utc(r.FinishedAt),
		Error: r.Error, Etag: r.Etag, SourceHash: r.SourceHash, EntityEtag: r.EntityEtag, CheckedAt: utc(r.CheckedAt),
		NextCheckAt: r.NextCheckAt.UTC(), Force: r.Force, LeaseOwner: r.LeaseOwner, LeaseUntil: utc(r.LeaseUntil)}
	if err := json.Unmarshal([]byte(r.Warnings), &b.Warnings); err != nil {
		return b, errs.Wrap(errs.Internal, err, "stored warnings of %s are corrupt", r.ID)
	}
	if r.LeaseUntil == nil {
		b.LeaseOwner = ""
	}
	return b, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func fromDBDocsBuilds(rows []*ent.TechDocsBuild) ([]tdservice.Build, error) {
	out := make([]tdservice.Build, 0, len(rows))
	for _, r := range rows {
		b, err := fromDBDocsBuild(r)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// trackDocs inserts the row of an entity that has none, due at once. Another replica inserting
// it at the same moment is fine: the first row stands.
func trackDocs(ctx context.Context, tx *ent.Tx, ref string, now time.Time) error {
	err := tx.TechDocsBuild.Create().SetID(ref).SetNextCheckAt(now).
		OnConflictColumns(techdocsbuild.FieldID).DoNothing().Exec(ctx)
	if err != nil && !isNoRows(err) {
		return dbErr(err, "track the docs of %s", ref)
	}
	return nil
}

func notLeased(now time.Time) func(*entsql.Selector) {
	return func(s *entsql.Selector) {
		s.Where(entsql.Or(entsql.IsNull(s.C(techdocsbuild.FieldLeaseUntil)), entsql.LT(s.C(techdocsbuild.FieldLeaseUntil), now)))
	}
}

// TrackDocs implements tdservice.BuildStore.
func (s *Store) TrackDocs(ctx context.Context, entities map[string]string, now time.Time) ([]string, error) {
	var removed []string
	err := s.withTx(ctx, func(tx *ent.Tx) error {
		rows, err := tx.TechDocsBuild.Query().Select(techdocsbuild.FieldID, techdocsbuild.FieldEntityEtag,
			techdocsbuild.FieldNextCheckAt, techdocsbuild.FieldLeaseUntil).All(ctx)
		if err != nil {
			return dbErr(err, "read docs builds")
		}
		have := map[string]bool{}
		var changed []string
		for _, r := range rows {
			have[r.ID] = true
			etag, ok := entities[r.ID]
			switch {
			case !ok:
				if r.LeaseUntil == nil || r.LeaseUntil.Before(now) {
					removed = append(removed, r.ID)
				}
			case etag != r.EntityEtag && r.NextCheckAt.After(now):
				changed = append(changed, r.ID)
			}
		}
		for ref := range entities {
			if !have[ref] {
				if err := trackDocs(ctx, tx, ref, now); err != nil {
					return err
				}
			}
		}
		for _, c := range chunks(changed) {
			if err := tx.TechDocsBuild.Update().Where(techdocsbuild.IDIn(c...)).SetNextCheckAt(now).Exec(ctx); err != nil {
				return dbErr(err, "schedule docs checks")
			}
		}
		for _, c := range chunks(removed) {
			// Only rows still unleased go: a build that started meanwhile keeps its row.
			if _, err := tx.TechDocsBuild.Delete().Where(techdocsbuild.IDIn(c...), notLeased(now)).Exec(ctx); err != nil {
				return dbErr(err, "forget docs builds")
			}
		}
		return nil
	})
	return removed, err
}

// ClaimDueDocs implements tdservice.BuildStore. On PostgreSQL the rows are locked with SKIP
// LOCKED, so replicas claiming together get different entities.
func (s *Store) ClaimDueDocs(ctx context.Context, owner string, limit int, lease time.Duration, now time.Time) ([]tdservice.Build, error) {
	var out []tdservice.Build
	err := s.withTx(ctx, func(tx *ent.Tx) error {
		q := tx.TechDocsBuild.Query().Where(techdocsbuild.NextCheckAtLTE(now), notLeased(now)).
			Order(techdocsbuild.ByNextCheckAt(), techdocsbuild.ByID()).Limit(limit)
		if s.dialect == dialect.Postgres {
			q = q.ForUpdate(entsql.WithLockAction(entsql.SkipLocked))
		}
		rows, err := q.All(ctx)
		if err != nil {
			return dbErr(err, "claim due docs")
		}
		if len(rows) == 0 {
			return nil
		}
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
			r.LeaseOwner, r.LeaseUntil = owner, ptr(now.Add(lease))
		}
		if err := tx.TechDocsBuild.Update().Where(techdocsbuild.IDIn(ids...)).SetLeaseOwner(owner).
			SetLeaseUntil(now.Add(lease)).Exec(ctx); err != nil {
			return dbErr(err, "lease due docs")
		}
		out, err = fromDBDocsBuilds(rows)
		return err
	})
	return out, err
}

func ptr[T any](v T) *T { return &v }

// ClaimDocs implements tdservice.BuildStore.
func (s *Store) ClaimDocs(ctx context.Context, ref, owner string, lease time.Duration, now time.Time) (tdservice.Build, bool, error) {
	var b tdservice.Build
	var ok bool
	err := s.withTx(ctx, func(tx *ent.Tx) error {
		if err := trackDocs(ctx, tx, ref, now); err != nil {
			return err
		}
		n, err := tx.TechDocsBuild.Update().Where(techdocsbuild.ID(ref), techdocsbuild.Or(
			techdocsbuild.LeaseUntilIsNil(), techdocsbuild.LeaseUntilLT(now), techdocsbuild.LeaseOwner(owner))).
			SetLeaseOwner(owner).SetLeaseUntil(now.Add(lease)).Save(ctx)
		if err != nil {
			return dbErr(err, "lease the docs of %s", ref)
		}
		ok = n == 1
		r, err := tx.TechDocsBuild.Get(ctx, ref)
		if err != nil {
			return dbErr(err, "read the docs build of %s", ref)
		}
		b, err = fromDBDocsBuild(r)
		return err
	})
	return b, ok, err
}

// StartDocsBuild implements tdservice.BuildStore.
func (s *Store) StartDocsBuild(ctx context.Context, ref, owner string, at time.Time) error {
	n, err := s.client.TechDocsBuild.Update().Where(techdocsbuild.ID(ref), techdocsbuild.LeaseOwner(owner)).
		SetState(tdservice.StateBuilding).SetStartedAt(at).Save(ctx)
	if err != nil {
		return dbErr(err, "start the docs build of %s", ref)
	}
	if n == 0 {
		return errs.E(errs.Conflict, "the docs build lease of %s is no longer %s's", ref, owner)
	}
	return nil
}

// FinishDocs implements tdservice.BuildStore. b.Force tells whether the check was a forced one:
// a rebuild requested while an unforced check ran stays requested.
func (s *Store) FinishDocs(ctx context.Context, owner string, b tdservice.Build) error {
	if b.Warnings == nil {
		b.Warnings = []techdocs.Diagnostic{}
	}
	warnings, err := json.Marshal(b.Warnings)
	if err != nil {
		return errs.Wrap(errs.Internal, err, "encode docs warnings")
	}
	return s.withTx(ctx, func(tx *ent.Tx) error {
		cur, err := tx.TechDocsBuild.Get(ctx, b.EntityRef)
		if err != nil {
			return dbErr(err, "read the docs build of %s", b.EntityRef)
		}
		if cur.LeaseOwner != owner {
			return errs.E(errs.Conflict, "the docs build lease of %s is no longer %s's", b.EntityRef, owner)
		}
		up := tx.TechDocsBuild.UpdateOneID(b.EntityRef).SetState(b.State).SetWarnings(string(warnings)).SetError(b.Error).
			SetEtag(b.Etag).SetSourceHash(b.SourceHash).SetEntityEtag(b.EntityEtag).SetNextCheckAt(b.NextCheckAt).
			SetLeaseOwner("").ClearLeaseUntil().SetNillableStartedAt(b.StartedAt).SetNillableFinishedAt(b.FinishedAt).
			SetNillableCheckedAt(b.CheckedAt)
		if cur.Force && !b.Force {
			// Due again at once, on the caller's clock: the rebuild was asked for after this
			// check began.
			due := cur.NextCheckAt
			if b.CheckedAt != nil {
				due = *b.CheckedAt
			}
			up.SetNextCheckAt(due)
		} else {
			up.SetForce(false)
		}
		return dbErr(up.Exec(ctx), "record the docs build of %s", b.EntityRef)
	})
}

// GetDocsBuild implements tdservice.BuildStore.
func (s *Store) GetDocsBuild(ctx context.Context, ref string) (tdservice.Build, error) {
	r, err := s.client.TechDocsBuild.Get(ctx, ref)
	if err != nil {
		if ent.IsNotFound(err) {
			return tdservice.Build{}, errs.Wrap(errs.NotFound, err, "no docs builds for %s", ref)
		}
		return tdservice.Build{}, dbErr(err, "read the docs build of %s", ref)
	}
	return fromDBDocsBuild(r)
}

// ListDocsBuilds implements tdservice.BuildStore.
func (s *Store) ListDocsBuilds(ctx context.Context) ([]tdservice.Build, error) {
	rows, err := s.client.TechDocsBuild.Query().Order(techdocsbuild.ByID()).All(ctx)
	if err != nil {
		return nil, dbErr(err, "list docs builds")
	}
	return fromDBDocsBuilds(rows)
}

// RequestDocsBuild implements tdservice.BuildStore.
func (s *Store) RequestDocsBuild(ctx context.Context, ref string, now time.Time) error {
	return s.withTx(ctx, func(tx *ent.Tx) error {
		if err := trackDocs(ctx, tx, ref, now); err != nil {
			return err
		}
		return dbErr(tx.TechDocsBuild.UpdateOneID(ref).SetForce(true).SetNextCheckAt(now).Exec(ctx), "request a docs build of %s", ref)
	})
}
