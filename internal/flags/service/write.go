package service

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/flags"
)

// Flag is a stored flag with its ETag, as reads return it.
type Flag struct {
	flags.StoredFlag
	ETag string
}

func withETag(f flags.StoredFlag) Flag { return Flag{StoredFlag: f, ETag: FlagETag(f)} }

// List returns an environment's flags, optionally only those an owner ref owns.
func (s *Service) List(name, owner string) ([]Flag, error) {
	snap, err := s.Snapshot(name)
	if err != nil {
		return nil, err
	}
	out := []Flag{}
	for _, f := range snap.Stored.Flags {
		if owner == "" || strings.EqualFold(f.Owner, owner) {
			out = append(out, withETag(f))
		}
	}
	return out, nil
}

// Get returns one flag.
func (s *Service) Get(name, key string) (Flag, error) {
	snap, err := s.Snapshot(name)
	if err != nil {
		return Flag{}, err
	}
	f, ok := snap.Stored.Flag(key)
	if !ok {
		return Flag{}, errs.E(errs.NotFound, "No flag %q in %s", key, name)
	}
	return withETag(f), nil
}

// Put creates or replaces a flag with a flagd flag definition. The whole environment is validated with the new
// definition in place, so a flag cannot refer to a missing evaluator.
func (s *Service) Put(ctx context.Context, p auth.Principal, name, key string, definition json.RawMessage, pre Precondition) (Flag, bool, error) {
	if err := checkKey(key); err != nil {
		return Flag{}, false, err
	}
	def, err := canonical(definition)
	if err != nil {
		return Flag{}, false, errs.E(errs.Invalid, "flag %q: %s", key, errs.MessageOf(err))
	}
	owner, err := ownerOf(key, def)
	if err != nil {
		return Flag{}, false, err
	}
	created := false
	stored, err := s.apply(ctx, name, func(cur flags.StoredEnvironment) (*flags.Mutation, error) {
		old, exists := cur.Flag(key)
		if err := pre.check(key, old, exists); err != nil {
			return nil, err
		}
		if err := s.mayChange(p, name, old, exists, owner); err != nil {
			return nil, err
		}
		created = !exists
		if exists && string(old.Definition) == string(def) {
			return nil, nil
		}
		action := flags.ActionUpdate
		if !exists {
			action = flags.ActionCreate
		}
		m := &flags.Mutation{Actor: p.Subject, Put: map[string]flags.PutFlag{key: {Definition: def, Owner: owner, Action: action}}}
		return m, validate(cur, m)
	})
	if err != nil {
		return Flag{}, false, err
	}
	f, _ := stored.Flag(key)
	return withETag(f), created, nil
}

// SetState enables or disables a flag, keeping the rest of its definition.
func (s *Service) SetState(ctx context.Context, p auth.Principal, name, key string, enabled bool, pre Precondition) (Flag, error) {
	state, action := flags.Disabled, flags.ActionDisable
	if enabled {
		state, action = flags.Enabled, flags.ActionEnable
	}
	stored, err := s.apply(ctx, name, func(cur flags.StoredEnvironment) (*flags.Mutation, error) {
		old, exists := cur.Flag(key)
		if !exists {
			return nil, errs.E(errs.NotFound, "No flag %q in %s", key, name)
		}
		if err := pre.check(key, old, exists); err != nil {
			return nil, err
		}
		if err := s.mayChange(p, name, old, exists, old.Owner); err != nil {
			return nil, err
		}
		var def map[string]json.RawMessage
		if err := json.Unmarshal(old.Definition, &def); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "flag %q is stored malformed", key)
		}
		if cur, _ := json.Marshal(state); string(def["state"]) == string(cur) {
			return nil, nil
		}
		def["state"], _ = json.Marshal(state)
		raw, _ := json.Marshal(def)
		canon, err := canonical(raw)
		if err != nil {
			return nil, err
		}
		m := &flags.Mutation{Actor: p.Subject, Put: map[string]flags.PutFlag{key: {Definition: canon, Owner: old.Owner, Action: action}}}
		return m, validate(cur, m)
	})
	if err != nil {
		return Flag{}, err
	}
	f, _ := stored.Flag(key)
	return withETag(f), nil
}

// Delete removes a flag.
func (s *Service) Delete(ctx context.Context, p auth.Principal, name, key string, pre Precondition) error {
	_, err := s.apply(ctx, name, func(cur flags.StoredEnvironment) (*flags.Mutation, error) {
		old, exists := cur.Flag(key)
		if !exists {
			return nil, errs.E(errs.NotFound, "No flag %q in %s", key, name)
		}
		if err := pre.check(key, old, exists); err != nil {
			return nil, err
		}
		if err := s.mayChange(p, name, old, exists, old.Owner); err != nil {
			return nil, err
		}
		return &flags.Mutation{Actor: p.Subject, Delete: map[string]flags.Action{key: flags.ActionDelete}}, nil
	})
	return err
}

// Copy promotes a flag from one environment to another, creating or replacing it there; pre guards the target.
// Evaluators the flag refers to must already exist in the target environment.
func (s *Service) Copy(ctx context.Context, p auth.Principal, from, to, key string, pre Precondition) (Flag, bool, error) {
	if from == to {
		return Flag{}, false, errs.E(errs.Invalid, "cannot copy flag %q onto itself: source and target are both %s", key, from)
	}
	src, err := s.Get(from, key)
	if err != nil {
		return Flag{}, false, err
	}
	created := false
	stored, err := s.apply(ctx, to, func(cur flags.StoredEnvironment) (*flags.Mutation, error) {
		old, exists := cur.Flag(key)
		if err := pre.check(key, old, exists); err != nil {
			return nil, err
		}
		if err := s.mayChange(p, to, old, exists, src.Owner); err != nil {
			return nil, err
		}
		created = !exists
		if exists && string(old.Definition) == string(src.Definition) {
			return nil, nil
		}
		m := &flags.Mutation{Actor: p.Subject, Put: map[string]flags.PutFlag{key: {Definition: src.Definition, Owner: src.Owner, Action: flags.ActionCopy}}}
		return m, validate(cur, m)
	})
	if err != nil {
		return Flag{}, false, err
	}
	f, _ := stored.Flag(key)
	return withETag(f), created, nil
}

// ImportMode says what happens to flags an imported document does not mention.
type ImportMode string

const (
	// ImportReplace makes the environment exactly the document: unmentioned flags are deleted.
	ImportReplace ImportMode = "replace"
	// ImportMerge creates and updates, and leaves other flags alone.
	ImportMerge ImportMode = "merge"
)

// ImportResult counts what an import did.
type ImportResult struct {
	Version   int64    `json:"version"`
	Created   []string `json:"created"`
	Updated   []string `json:"updated"`
	Deleted   []string `json:"deleted"`
	Unchanged int      `json:"unchanged"`
}

// Import loads a flagd document into an environment in one change: either every flag is valid and stored, or
// nothing is.
func (s *Service) Import(ctx context.Context, p auth.Principal, name string, document []byte, mode ImportMode) (ImportResult, error) {
	return s.importDocument(ctx, p, name, document, mode, false)
}

// Seed imports a document into an environment that has never been written, and does nothing otherwise: the
// repository's own flag files fill a new portal without undoing later edits when it restarts.
func (s *Service) Seed(ctx context.Context, p auth.Principal, name string, document []byte) (ImportResult, bool, error) {
	res, err := s.importDocument(ctx, p, name, document, ImportReplace, true)
	return res, res.Version > 0 && (len(res.Created)+len(res.Updated)+len(res.Deleted) > 0), err
}

func (s *Service) importDocument(ctx context.Context, principal auth.Principal, name string, document []byte, mode ImportMode, onlyIfNew bool) (ImportResult, error) {
	p := principal
	if mode == "" {
		mode = ImportReplace
	}
	if mode != ImportReplace && mode != ImportMerge {
		return ImportResult{}, errs.E(errs.Invalid, "import mode %q is not replace or merge", mode)
	}
	if _, err := flags.Parse(document); err != nil {
		return ImportResult{}, errs.Wrap(errs.Invalid, err, "%s", err.Error())
	}
	var raw struct {
		Flags      map[string]json.RawMessage `json:"flags"`
		Evaluators json.RawMessage            `json:"$evaluators"`
		Metadata   json.RawMessage            `json:"metadata"`
	}
	if err := json.Unmarshal(document, &raw); err != nil {
		return ImportResult{}, errs.E(errs.Invalid, "invalid flag set: %v", err)
	}
	incoming := map[string]flags.PutFlag{}
	for _, key := range sortedKeys(raw.Flags) {
		if err := checkKey(key); err != nil {
			return ImportResult{}, err
		}
		def, err := canonical(raw.Flags[key])
		if err != nil {
			return ImportResult{}, errs.E(errs.Invalid, "flag %q: %s", key, errs.MessageOf(err))
		}
		owner, err := ownerOf(key, def)
		if err != nil {
			return ImportResult{}, err
		}
		incoming[key] = flags.PutFlag{Definition: def, Owner: owner}
	}
	setPart := func(v json.RawMessage) (json.RawMessage, error) {
		if len(v) == 0 || string(v) == "null" {
			return json.RawMessage("{}"), nil
		}
		return canonical(v)
	}
	evaluators, err := setPart(raw.Evaluators)
	if err != nil {
		return ImportResult{}, err
	}
	metadata, err := setPart(raw.Metadata)
	if err != nil {
		return ImportResult{}, err
	}
	var res ImportResult
	stored, err := s.apply(ctx, name, func(cur flags.StoredEnvironment) (*flags.Mutation, error) {
		res = ImportResult{Created: []string{}, Updated: []string{}, Deleted: []string{}}
		if onlyIfNew && cur.Version > 0 {
			return nil, nil
		}
		m := &flags.Mutation{Actor: p.Subject, Put: map[string]flags.PutFlag{}, Delete: map[string]flags.Action{}}
		for _, key := range sortedKeys(incoming) {
			in := incoming[key]
			old, exists := cur.Flag(key)
			switch {
			case !exists:
				res.Created = append(res.Created, key)
			case string(old.Definition) == string(in.Definition):
				res.Unchanged++
				continue
			default:
				res.Updated = append(res.Updated, key)
			}
			if err := s.mayChange(principal, name, old, exists, in.Owner); err != nil {
				return nil, err
			}
			in.Action = flags.ActionImport
			m.Put[key] = in
		}
		if mode == ImportReplace {
			for _, f := range cur.Flags {
				if _, keep := incoming[f.Key]; !keep {
					if err := s.mayChange(principal, name, f, true, f.Owner); err != nil {
						return nil, err
					}
					m.Delete[f.Key] = flags.ActionImport
					res.Deleted = append(res.Deleted, f.Key)
				}
			}
		}
		// A merge keeps the environment's evaluators that the document does not redefine.
		if mode == ImportMerge {
			evaluators, err = mergeObjects(cur.Evaluators, evaluators)
			if err != nil {
				return nil, err
			}
			metadata, err = mergeObjects(cur.Metadata, metadata)
			if err != nil {
				return nil, err
			}
		}
		if string(evaluators) != string(orEmpty(cur.Evaluators)) {
			m.Evaluators = evaluators
		}
		if string(metadata) != string(orEmpty(cur.Metadata)) {
			m.Metadata = metadata
		}
		if m.Evaluators != nil || m.Metadata != nil {
			// Shared evaluators and set metadata belong to no single owner.
			if err := s.mayChange(principal, name, flags.StoredFlag{}, false, ""); err != nil {
				return nil, err
			}
		}
		return m, validate(cur, m)
	})
	if err != nil {
		return ImportResult{}, err
	}
	res.Version = stored.Version
	return res, nil
}

func orEmpty(v json.RawMessage) json.RawMessage {
	if len(v) == 0 {
		return json.RawMessage("{}")
	}
	return v
}

func mergeObjects(base, over json.RawMessage) (json.RawMessage, error) {
	merged := map[string]json.RawMessage{}
	for _, part := range []json.RawMessage{orEmpty(base), orEmpty(over)} {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(part, &m); err != nil {
			return nil, errs.E(errs.Invalid, "not a JSON object: %v", err)
		}
		for k, v := range m {
			merged[k] = v
		}
	}
	out, _ := json.Marshal(merged)
	return canonical(out)
}

// Export returns an environment as a flagd document.
func (s *Service) Export(name string) ([]byte, error) {
	snap, err := s.Snapshot(name)
	if err != nil {
		return nil, err
	}
	return snap.Document, nil
}

// Audit lists recorded changes, newest first.
func (s *Service) Audit(ctx context.Context, q flags.AuditQuery) ([]flags.AuditEntry, error) {
	if q.Environment != "" {
		if _, ok := s.envs[q.Environment]; !ok {
			return nil, errNoEnvironment(q.Environment)
		}
	}
	return s.repo.Audit(ctx, q)
}

// AuditAfter returns changes after an audit ID, oldest first, for streams that resume.
func (s *Service) AuditAfter(ctx context.Context, id int64, limit int) ([]flags.AuditEntry, error) {
	return s.repo.AuditAfterID(ctx, id, limit)
}

// validate checks the environment as it would be after m: flagd's rules over the whole document.
func validate(cur flags.StoredEnvironment, m *flags.Mutation) error {
	next := cur
	next.Flags = nil
	for _, f := range cur.Flags {
		if _, gone := m.Delete[f.Key]; gone {
			continue
		}
		if _, replaced := m.Put[f.Key]; replaced {
			continue
		}
		next.Flags = append(next.Flags, f)
	}
	for key, p := range m.Put {
		next.Flags = append(next.Flags, flags.StoredFlag{Key: key, Definition: p.Definition})
	}
	if m.Evaluators != nil {
		next.Evaluators = m.Evaluators
	}
	if m.Metadata != nil {
		next.Metadata = m.Metadata
	}
	if _, err := flags.Parse(exportDocument(next)); err != nil {
		return errs.Wrap(errs.Invalid, err, "%s", err.Error())
	}
	return nil
}

// apply writes through the repository and installs the result before returning, so the writer reads its own
// write on this replica; the follower loop is woken to pick up anything else.
func (s *Service) apply(ctx context.Context, name string, plan func(flags.StoredEnvironment) (*flags.Mutation, error)) (flags.StoredEnvironment, error) {
	env, ok := s.envs[name]
	if !ok {
		return flags.StoredEnvironment{}, errNoEnvironment(name)
	}
	stored, err := s.repo.Apply(ctx, name, plan)
	if err != nil {
		return stored, err
	}
	env.reload.Lock()
	_, err = s.install(ctx, env, stored)
	env.reload.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return stored, err
}

// mayChange applies the permission policy to a flag: changing an existing flag needs its current owner, and
// a new owner must be one the principal belongs to as well; a new flag is judged by the owner it will have.
func (s *Service) mayChange(p auth.Principal, env string, current flags.StoredFlag, exists bool, newOwner string) error {
	r := auth.Resource{Protected: s.envs[env].cfg.Protected, Owner: newOwner}
	if exists {
		r.Owner, r.NewOwner = current.Owner, newOwner
	}
	return auth.Decide(p, auth.FlagWrite, r)
}
