package store

import (
	"context"
	"encoding/json"
	"sort"

	"entgo.io/ent/dialect"

	"github.com/billpay/portal/ent"
	"github.com/billpay/portal/ent/flagaudit"
	"github.com/billpay/portal/ent/flagdefinition"
	"github.com/billpay/portal/ent/flagenvironment"
	"github.com/billpay/portal/ent/setting"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/flags"
)

var _ flags.Repository = (*Store)(nil)

// EnsureEnvironments implements flags.Repository.
func (s *Store) EnsureEnvironments(ctx context.Context, names []string) error {
	for _, name := range names {
		err := s.client.FlagEnvironment.Create().SetID(name).SetUpdatedAt(s.now()).
			OnConflictColumns(flagenvironment.FieldID).DoNothing().Exec(ctx)
		if err != nil && !isNoRows(err) {
			return dbErr(err, "cannot create flag environment %s", name)
		}
	}
	return nil
}

// EnvironmentVersions implements flags.Repository.
func (s *Store) EnvironmentVersions(ctx context.Context) (map[string]int64, error) {
	rows, err := s.client.FlagEnvironment.Query().
		Select(flagenvironment.FieldID, flagenvironment.FieldVersion).All(ctx)
	if err != nil {
		return nil, dbErr(err, "cannot read flag environment versions")
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Version
	}
	return out, nil
}

// LoadEnvironment implements flags.Repository. SQLite transactions here take the write lock, so instead of
// reading in one, it reads the header, the flags, and the version again, and retries if a writer slipped in:
// the version returned always matches the flags.
func (s *Store) LoadEnvironment(ctx context.Context, name string) (flags.StoredEnvironment, error) {
	for {
		out, err := loadEnvironment(ctx, s.client, name, false)
		if err != nil {
			return out, err
		}
		v, err := s.client.FlagEnvironment.Query().Where(flagenvironment.ID(name)).
			Select(flagenvironment.FieldVersion).Int(ctx)
		if err != nil {
			return out, dbErr(err, "cannot read flag environment %s", name)
		}
		if int64(v) == out.Version {
			return out, nil
		}
		if err := ctx.Err(); err != nil {
			return out, errs.Wrap(errs.Unavailable, err, "reading flag environment %s: %v", name, err)
		}
	}
}

func loadEnvironment(ctx context.Context, c *ent.Client, name string, lock bool) (flags.StoredEnvironment, error) {
	q := c.FlagEnvironment.Query().Where(flagenvironment.ID(name))
	if lock {
		q = q.ForUpdate()
	}
	env, err := q.Only(ctx)
	if err != nil {
		if ent.IsNotFound(err) {
			return flags.StoredEnvironment{}, errs.E(errs.NotFound, "No flag environment named %q", name)
		}
		return flags.StoredEnvironment{}, dbErr(err, "cannot read flag environment %s", name)
	}
	defs, err := c.FlagDefinition.Query().Where(flagdefinition.Environment(name)).
		Order(ent.Asc(flagdefinition.FieldKey)).All(ctx)
	if err != nil {
		return flags.StoredEnvironment{}, dbErr(err, "cannot read flags of %s", name)
	}
	out := flags.StoredEnvironment{
		Name: env.ID, Version: env.Version, UpdatedAt: env.UpdatedAt,
		Evaluators: json.RawMessage(env.Evaluators), Metadata: json.RawMessage(env.Metadata),
		Flags: make([]flags.StoredFlag, 0, len(defs)),
	}
	for _, d := range defs {
		out.Flags = append(out.Flags, storedFlag(d))
	}
	return out, nil
}

func storedFlag(d *ent.FlagDefinition) flags.StoredFlag {
	return flags.StoredFlag{
		Environment: d.Environment, Key: d.Key, Definition: json.RawMessage(d.Definition), Owner: d.Owner,
		Revision: d.Revision, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, UpdatedBy: d.UpdatedBy,
	}
}

// Apply implements flags.Repository. On PostgreSQL the environment row is locked FOR UPDATE; SQLite's
// immediate transactions already admit one writer at a time.
func (s *Store) Apply(ctx context.Context, name string, plan func(flags.StoredEnvironment) (*flags.Mutation, error)) (flags.StoredEnvironment, error) {
	var out flags.StoredEnvironment
	err := s.withTx(ctx, func(tx *ent.Tx) error {
		c := tx.Client()
		current, err := loadEnvironment(ctx, c, name, s.dialect == dialect.Postgres)
		if err != nil {
			return err
		}
		m, err := plan(current)
		if err != nil {
			return err
		}
		if m == nil || m.Empty() {
			out = current
			return nil
		}
		now := s.now()
		version := current.Version + 1
		upd := c.FlagEnvironment.UpdateOneID(name).SetVersion(version).SetUpdatedAt(now)
		if m.Evaluators != nil {
			upd.SetEvaluators(string(m.Evaluators))
		}
		if m.Metadata != nil {
			upd.SetMetadata(string(m.Metadata))
		}
		if err := upd.Exec(ctx); err != nil {
			return dbErr(err, "cannot update flag environment %s", name)
		}
		var audits []*ent.FlagAuditCreate
		audit := func(key string, action flags.Action, before, after json.RawMessage) {
			a := c.FlagAudit.Create().SetEnvironment(name).SetVersion(version).SetFlagKey(key).
				SetAction(string(action)).SetActor(m.Actor).SetAt(now)
			if before != nil {
				a.SetBefore(string(before))
			}
			if after != nil {
				a.SetAfter(string(after))
			}
			audits = append(audits, a)
		}
		if m.Evaluators != nil || m.Metadata != nil {
			before, _ := json.Marshal(map[string]json.RawMessage{"$evaluators": current.Evaluators, "metadata": current.Metadata})
			after := map[string]json.RawMessage{"$evaluators": current.Evaluators, "metadata": current.Metadata}
			if m.Evaluators != nil {
				after["$evaluators"] = m.Evaluators
			}
			if m.Metadata != nil {
				after["metadata"] = m.Metadata
			}
			afterJSON, _ := json.Marshal(after)
			audit("", flags.ActionSet, before, afterJSON)
		}
		for _, key := range sortedMapKeys(m.Delete) {
			old, ok := current.Flag(key)
			if !ok {
				continue
			}
			if _, err := c.FlagDefinition.Delete().Where(flagdefinition.Environment(name), flagdefinition.Key(key)).Exec(ctx); err != nil {
				return dbErr(err, "cannot delete flag %s", key)
			}
			audit(key, m.Delete[key], old.Definition, nil)
		}
		for _, key := range sortedMapKeys(m.Put) {
			p := m.Put[key]
			old, exists := current.Flag(key)
			if exists {
				err = c.FlagDefinition.Update().Where(flagdefinition.Environment(name), flagdefinition.Key(key)).
					SetDefinition(string(p.Definition)).SetOwner(p.Owner).SetRevision(version).
					SetUpdatedAt(now).SetUpdatedBy(m.Actor).Exec(ctx)
				audit(key, p.Action, old.Definition, p.Definition)
			} else {
				err = c.FlagDefinition.Create().SetEnvironment(name).SetKey(key).SetDefinition(string(p.Definition)).
					SetOwner(p.Owner).SetRevision(version).SetCreatedAt(now).SetUpdatedAt(now).SetUpdatedBy(m.Actor).Exec(ctx)
				audit(key, p.Action, nil, p.Definition)
			}
			if err != nil {
				return dbErr(err, "cannot store flag %s", key)
			}
		}
		for _, chunk := range chunks(audits) {
			if err := c.FlagAudit.CreateBulk(chunk...).Exec(ctx); err != nil {
				return dbErr(err, "cannot record the flag change")
			}
		}
		out, err = loadEnvironment(ctx, c, name, false)
		return err
	})
	return out, err
}

func sortedMapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// AuditSince implements flags.Repository.
func (s *Store) AuditSince(ctx context.Context, name string, after int64) ([]flags.AuditEntry, error) {
	rows, err := s.client.FlagAudit.Query().
		Where(flagaudit.Environment(name), flagaudit.VersionGT(after)).
		Order(ent.Asc(flagaudit.FieldVersion), ent.Asc(flagaudit.FieldID)).All(ctx)
	if err != nil {
		return nil, dbErr(err, "cannot read the flag audit log")
	}
	return auditEntries(rows), nil
}

// AuditAfterID implements flags.Repository.
func (s *Store) AuditAfterID(ctx context.Context, id int64, limit int) ([]flags.AuditEntry, error) {
	rows, err := s.client.FlagAudit.Query().Where(flagaudit.IDGT(int(id))).
		Order(ent.Asc(flagaudit.FieldID)).Limit(limit).All(ctx)
	if err != nil {
		return nil, dbErr(err, "cannot read the flag audit log")
	}
	return auditEntries(rows), nil
}

// Audit implements flags.Repository.
func (s *Store) Audit(ctx context.Context, q flags.AuditQuery) ([]flags.AuditEntry, error) {
	query := s.client.FlagAudit.Query()
	if q.Environment != "" {
		query.Where(flagaudit.Environment(q.Environment))
	}
	if q.FlagKey != "" {
		query.Where(flagaudit.FlagKey(q.FlagKey))
	}
	if q.BeforeID > 0 {
		query.Where(flagaudit.IDLT(int(q.BeforeID)))
	}
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := query.Order(ent.Desc(flagaudit.FieldID)).Limit(limit).All(ctx)
	if err != nil {
		return nil, dbErr(err, "cannot read the flag audit log")
	}
	return auditEntries(rows), nil
}

func auditEntries(rows []*ent.FlagAudit) []flags.AuditEntry {
	out := make([]flags.AuditEntry, 0, len(rows))
	for _, r := range rows {
		e := flags.AuditEntry{
			ID: int64(r.ID), Environment: r.Environment, Version: r.Version, FlagKey: r.FlagKey,
			Action: flags.Action(r.Action), Actor: r.Actor, At: r.At,
		}
		if r.Before != nil {
			e.Before = json.RawMessage(*r.Before)
		}
		if r.After != nil {
			e.After = json.RawMessage(*r.After)
		}
		out = append(out, e)
	}
	return out
}

// Setting implements flags.Repository. Replicas racing to create the value agree on whichever insert won.
func (s *Store) Setting(ctx context.Context, key string, create func() (string, error)) (string, error) {
	row, err := s.client.Setting.Get(ctx, key)
	if err == nil {
		return row.Value, nil
	}
	if !ent.IsNotFound(err) {
		return "", dbErr(err, "cannot read setting %s", key)
	}
	value, err := create()
	if err != nil {
		return "", err
	}
	err = s.client.Setting.Create().SetID(key).SetValue(value).OnConflictColumns(setting.FieldID).DoNothing().Exec(ctx)
	if err != nil && !isNoRows(err) {
		return "", dbErr(err, "cannot store setting %s", key)
	}
	row, err = s.client.Setting.Get(ctx, key)
	if err != nil {
		return "", dbErr(err, "cannot read setting %s", key)
	}
	return row.Value, nil
}
