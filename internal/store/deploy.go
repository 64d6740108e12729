package store

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/billpay/portal/ent"
	"github.com/billpay/portal/ent/deployevent"
	"github.com/billpay/portal/ent/deployrelease"
	"github.com/billpay/portal/ent/deploytofurun"
	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/errs"
)

var (
	_ deploy.Store     = (*Store)(nil)
	_ deploy.TofuStore = (*Store)(nil)
)

func activeKey(component, environment string) string { return component + "|" + environment }

// CreateRelease implements deploy.Store.
func (s *Store) CreateRelease(ctx context.Context, r deploy.Release) (deploy.Release, error) {
	objs, err := json.Marshal(r.Objects)
	if err != nil {
		return deploy.Release{}, errs.Wrap(errs.Invalid, err, "release objects: %v", err)
	}
	now := s.now()
	c := s.client.DeployRelease.Create().
		SetComponent(r.Component).SetEnvironment(r.Environment).SetKind(string(r.Kind)).SetRollbackOf(r.RollbackOf).
		SetImageRepository(r.Image.Repository).SetImageTag(r.Image.Tag).SetImageDigest(r.Image.Digest).
		SetStatus(string(r.Status)).SetMessage(r.Message).SetRequestedBy(r.RequestedBy).SetApprovedBy(r.ApprovedBy).
		SetNamespace(r.Namespace).SetWorkload(r.Workload).SetObjects(string(objs)).SetCreatedAt(now).SetUpdatedAt(now)
	if !r.Status.Done() {
		c.SetActiveKey(activeKey(r.Component, r.Environment))
	}
	row, err := c.Save(ctx)
	if ent.IsConstraintError(err) {
		active, _, lerr := s.ListReleases(ctx, deploy.ReleaseFilter{Component: r.Component, Environment: r.Environment,
			Status: []deploy.Status{deploy.StatusPendingApproval, deploy.StatusQueued, deploy.StatusApplying, deploy.StatusRollingOut}, Limit: 1})
		if lerr == nil && len(active) > 0 {
			return deploy.Release{}, errs.Wrap(errs.Conflict, err, "release %d of %s in %s is still %s; wait for it to finish",
				active[0].ID, r.Component, r.Environment, active[0].Status)
		}
		return deploy.Release{}, errs.Wrap(errs.Conflict, err, "%s already has an unfinished release in %s", r.Component, r.Environment)
	}
	if err != nil {
		return deploy.Release{}, dbErr(err, "cannot record a release of %s", r.Component)
	}
	return FromDBRelease(row)
}

// FromDBRelease maps a stored release to the domain.
func FromDBRelease(row *ent.DeployRelease) (deploy.Release, error) {
	r := deploy.Release{
		ID: int64(row.ID), Component: row.Component, Environment: row.Environment, Kind: deploy.Kind(row.Kind),
		RollbackOf: row.RollbackOf, Image: deploy.Image{Repository: row.ImageRepository, Tag: row.ImageTag, Digest: row.ImageDigest},
		Status: deploy.Status(row.Status), Message: row.Message, RequestedBy: row.RequestedBy, ApprovedBy: row.ApprovedBy,
		Namespace: row.Namespace, Workload: row.Workload, Generation: row.Generation, Attempts: row.Attempts,
		CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC(), StartedAt: utcPtr(row.StartedAt), FinishedAt: utcPtr(row.FinishedAt),
	}
	if err := json.Unmarshal([]byte(row.Objects), &r.Objects); err != nil {
		return r, errs.Wrap(errs.Internal, err, "stored objects of release %d are corrupt", row.ID)
	}
	return r, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// GetRelease implements deploy.Store.
func (s *Store) GetRelease(ctx context.Context, id int64) (deploy.Release, error) {
	row, err := s.client.DeployRelease.Get(ctx, int(id))
	if err != nil {
		return deploy.Release{}, dbErr(err, "release %d not found", id)
	}
	return FromDBRelease(row)
}

// ListReleases implements deploy.Store.
func (s *Store) ListReleases(ctx context.Context, f deploy.ReleaseFilter) ([]deploy.Release, int, error) {
	q := s.client.DeployRelease.Query()
	if f.Component != "" {
		q = q.Where(deployrelease.Component(f.Component))
	}
	if f.Environment != "" {
		q = q.Where(deployrelease.Environment(f.Environment))
	}
	if len(f.Status) > 0 {
		st := make([]string, len(f.Status))
		for i, x := range f.Status {
			st[i] = string(x)
		}
		q = q.Where(deployrelease.StatusIn(st...))
	}
	total, err := q.Clone().Count(ctx)
	if err != nil {
		return nil, 0, dbErr(err, "cannot count releases")
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	rows, err := q.Offset(f.Offset).Order(ent.Desc(deployrelease.FieldID)).All(ctx)
	if err != nil {
		return nil, 0, dbErr(err, "cannot list releases")
	}
	out := make([]deploy.Release, 0, len(rows))
	for _, row := range rows {
		r, err := FromDBRelease(row)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	return out, total, nil
}

// UpdateRelease implements deploy.Store.
func (s *Store) UpdateRelease(ctx context.Context, id int64, u deploy.ReleaseUpdate) (deploy.Release, error) {
	var out deploy.Release
	err := s.withTx(ctx, func(tx *ent.Tx) error {
		q := tx.DeployRelease.Query().Where(deployrelease.ID(int(id)))
		if s.dialect == dialect.Postgres {
			q = q.ForUpdate()
		}
		row, err := q.Only(ctx)
		if err != nil {
			return dbErr(err, "release %d not found", id)
		}
		if len(u.From) > 0 {
			ok := false
			for _, st := range u.From {
				ok = ok || string(st) == row.Status
			}
			if !ok {
				return errs.E(errs.Conflict, "release %d is %s", id, row.Status)
			}
		}
		up := tx.DeployRelease.UpdateOneID(row.ID).SetUpdatedAt(s.now())
		if u.Status != nil {
			up.SetStatus(string(*u.Status))
			if u.Status.Done() {
				up.ClearActiveKey().SetClaimedBy("").ClearLeaseUntil()
			}
		}
		if u.Message != nil {
			up.SetMessage(*u.Message)
		}
		if u.ApprovedBy != nil {
			up.SetApprovedBy(*u.ApprovedBy)
		}
		if u.Generation != nil {
			up.SetGeneration(*u.Generation)
		}
		if u.Image != nil {
			up.SetImageRepository(u.Image.Repository).SetImageTag(u.Image.Tag).SetImageDigest(u.Image.Digest)
		}
		if u.Objects != nil {
			objs, err := json.Marshal(u.Objects)
			if err != nil {
				return errs.Wrap(errs.Invalid, err, "release objects: %v", err)
			}
			up.SetObjects(string(objs))
		}
		if u.StartedAt != nil {
			up.SetStartedAt(*u.StartedAt)
		}
		if u.FinishedAt != nil {
			up.SetFinishedAt(*u.FinishedAt)
		}
		row, err = up.Save(ctx)
		if err != nil {
			return dbErr(err, "cannot update release %d", id)
		}
		out, err = FromDBRelease(row)
		return err
	})
	return out, err
}

// ClaimRelease implements deploy.Store. On PostgreSQL the candidate row is locked with SKIP LOCKED, so replicas
// claiming at once get different releases.
func (s *Store) ClaimRelease(ctx context.Context, worker string, now time.Time, lease time.Duration) (deploy.Release, bool, error) {
	var out deploy.Release
	found := false
	err := s.withTx(ctx, func(tx *ent.Tx) error {
		// A queued release stays queued until its worker starts it, so the lease must guard it too: otherwise the
		// same worker's next claim (or another replica's) would take it again before it leaves the queue.
		claimable := []string{string(deploy.StatusQueued), string(deploy.StatusApplying), string(deploy.StatusRollingOut)}
		q := tx.DeployRelease.Query().Where(deployrelease.StatusIn(claimable...),
			deployrelease.Or(deployrelease.LeaseUntilIsNil(), deployrelease.LeaseUntilLT(now)),
		).Order(ent.Asc(deployrelease.FieldID)).Limit(1)
		if s.dialect == dialect.Postgres {
			q = q.ForUpdate(entsql.WithLockAction(entsql.SkipLocked))
		}
		rows, err := q.All(ctx)
		if err != nil {
			return dbErr(err, "cannot claim a release")
		}
		if len(rows) == 0 {
			return nil
		}
		row, err := tx.DeployRelease.UpdateOneID(rows[0].ID).SetClaimedBy(worker).SetLeaseUntil(now.Add(lease)).
			AddAttempts(1).SetUpdatedAt(s.now()).Save(ctx)
		if err != nil {
			return dbErr(err, "cannot claim release %d", rows[0].ID)
		}
		out, err = FromDBRelease(row)
		found = err == nil
		return err
	})
	return out, found, err
}

// RenewLease implements deploy.Store.
func (s *Store) RenewLease(ctx context.Context, id int64, worker string, until time.Time) error {
	n, err := s.client.DeployRelease.Update().
		Where(deployrelease.ID(int(id)), deployrelease.ClaimedBy(worker)).
		SetLeaseUntil(until).Save(ctx)
	if err != nil {
		return dbErr(err, "cannot renew the claim of release %d", id)
	}
	if n == 0 {
		row, err := s.client.DeployRelease.Get(ctx, int(id))
		if err == nil && row.ClaimedBy == "" && deploy.Status(row.Status).Done() {
			return nil // finished: nothing left to hold
		}
		return errs.E(errs.Conflict, "release %d is claimed by another worker", id)
	}
	return nil
}

// AddEvent implements deploy.Store.
func (s *Store) AddEvent(ctx context.Context, e deploy.ReleaseEvent) (deploy.ReleaseEvent, error) {
	if e.At.IsZero() {
		e.At = s.now()
	}
	row, err := s.client.DeployEvent.Create().SetReleaseID(e.ReleaseID).SetAt(e.At).SetType(e.Type).
		SetReason(e.Reason).SetMessage(e.Message).Save(ctx)
	if err != nil {
		return e, dbErr(err, "cannot record an event of release %d", e.ReleaseID)
	}
	return FromDBEvent(row), nil
}

// FromDBEvent maps a stored event to the domain.
func FromDBEvent(row *ent.DeployEvent) deploy.ReleaseEvent {
	return deploy.ReleaseEvent{ID: int64(row.ID), ReleaseID: row.ReleaseID, At: row.At.UTC(), Type: row.Type, Reason: row.Reason, Message: row.Message}
}

// ListEvents implements deploy.Store.
func (s *Store) ListEvents(ctx context.Context, releaseID, afterID int64, limit int) ([]deploy.ReleaseEvent, error) {
	q := s.client.DeployEvent.Query().Where(deployevent.IDGT(int(afterID)))
	if releaseID != 0 {
		q = q.Where(deployevent.ReleaseID(releaseID))
	}
	if limit > 0 {
		q = q.Limit(limit)
	}
	rows, err := q.Order(ent.Asc(deployevent.FieldID)).All(ctx)
	if err != nil {
		return nil, dbErr(err, "cannot list events of release %d", releaseID)
	}
	out := make([]deploy.ReleaseEvent, len(rows))
	for i, row := range rows {
		out[i] = FromDBEvent(row)
	}
	return out, nil
}

// CreateTofuRun implements deploy.TofuStore.
func (s *Store) CreateTofuRun(ctx context.Context, r deploy.TofuRun) (deploy.TofuRun, error) {
	now := s.now()
	row, err := s.client.DeployTofuRun.Create().SetUnit(r.Unit).SetEnvironment(r.Environment).SetStatus(string(r.Status)).
		SetRequestedBy(r.RequestedBy).SetCreatedAt(now).SetUpdatedAt(now).Save(ctx)
	if err != nil {
		return deploy.TofuRun{}, dbErr(err, "cannot record a plan of %s", r.Unit)
	}
	return FromDBTofuRun(row), nil
}

// FromDBTofuRun maps a stored OpenTofu run to the domain.
func FromDBTofuRun(row *ent.DeployTofuRun) deploy.TofuRun {
	return deploy.TofuRun{
		ID: int64(row.ID), Unit: row.Unit, Environment: row.Environment, Status: deploy.TofuStatus(row.Status),
		RequestedBy: row.RequestedBy, ApprovedBy: row.ApprovedBy, Plan: row.PlanText, PlanFile: row.PlanFile,
		Summary: deploy.PlanSummary{Add: row.Adds, Change: row.Changes, Destroy: row.Destroys},
		Output:  row.Output, Message: row.Message, CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC(),
	}
}

// GetTofuRun implements deploy.TofuStore.
func (s *Store) GetTofuRun(ctx context.Context, id int64) (deploy.TofuRun, error) {
	row, err := s.client.DeployTofuRun.Get(ctx, int(id))
	if err != nil {
		return deploy.TofuRun{}, dbErr(err, "OpenTofu run %d not found", id)
	}
	return FromDBTofuRun(row), nil
}

// ListTofuRuns implements deploy.TofuStore.
func (s *Store) ListTofuRuns(ctx context.Context, unit string, limit int) ([]deploy.TofuRun, error) {
	q := s.client.DeployTofuRun.Query()
	if unit != "" {
		q = q.Where(deploytofurun.Unit(unit))
	}
	if limit > 0 {
		q = q.Limit(limit)
	}
	rows, err := q.Order(ent.Desc(deploytofurun.FieldID)).All(ctx)
	if err != nil {
		return nil, dbErr(err, "cannot list OpenTofu runs")
	}
	out := make([]deploy.TofuRun, len(rows))
	for i, row := range rows {
		out[i] = FromDBTofuRun(row)
		out[i].PlanFile = nil
	}
	return out, nil
}

// UpdateTofuRun implements deploy.TofuStore; with from set it changes only a run in one of those states.
func (s *Store) UpdateTofuRun(ctx context.Context, id int64, from []deploy.TofuStatus, u deploy.TofuRun) (deploy.TofuRun, error) {
	q := s.client.DeployTofuRun.Update().Where(deploytofurun.ID(int(id)))
	if len(from) > 0 {
		st := make([]string, len(from))
		for i, f := range from {
			st[i] = string(f)
		}
		q = q.Where(deploytofurun.StatusIn(st...))
	}
	q = q.SetUpdatedAt(s.now())
	if u.Status != "" {
		q = q.SetStatus(string(u.Status))
	}
	if u.ApprovedBy != "" {
		q = q.SetApprovedBy(u.ApprovedBy)
	}
	if u.Plan != "" {
		q = q.SetPlanText(u.Plan).SetAdds(u.Summary.Add).SetChanges(u.Summary.Change).SetDestroys(u.Summary.Destroy)
	}
	if u.PlanFile != nil {
		q = q.SetPlanFile(u.PlanFile)
	}
	if u.Output != "" {
		q = q.SetOutput(u.Output)
	}
	if u.Message != "" {
		q = q.SetMessage(u.Message)
	}
	n, err := q.Save(ctx)
	if err != nil {
		return deploy.TofuRun{}, dbErr(err, "cannot update OpenTofu run %d", id)
	}
	if n == 0 {
		cur, err := s.GetTofuRun(ctx, id)
		if err != nil {
			return deploy.TofuRun{}, err
		}
		names := make([]string, len(from))
		for i, f := range from {
			names[i] = string(f)
		}
		return deploy.TofuRun{}, errs.E(errs.Conflict, "OpenTofu run %d is %s, not %s", id, cur.Status, strings.Join(names, " or "))
	}
	return s.GetTofuRun(ctx, id)
}
