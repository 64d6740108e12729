package flags

import (
	"context"
	"encoding/json"
	"time"
)

// StoredFlag is one flag of one environment as storage keeps it: the flagd JSON its author wrote, with any
// {"$ref"} left unexpanded so an export gives back what was imported.
type StoredFlag struct {
	Environment string
	Key         string
	Definition  json.RawMessage
	// Owner is the normalised entity ref named by the definition's metadata.owner, or "".
	Owner string
	// Revision is the environment version that last wrote the flag; it serves as the flag's ETag.
	Revision  int64
	CreatedAt time.Time
	UpdatedAt time.Time
	UpdatedBy string
}

// StoredEnvironment is an environment's whole flag set at one version.
type StoredEnvironment struct {
	Name    string
	Version int64
	// Evaluators and Metadata are the set's "$evaluators" and "metadata" objects.
	Evaluators json.RawMessage
	Metadata   json.RawMessage
	UpdatedAt  time.Time
	// Flags are ordered by key.
	Flags []StoredFlag
}

// Flag returns the stored flag with key, if any.
func (e *StoredEnvironment) Flag(key string) (StoredFlag, bool) {
	for _, f := range e.Flags {
		if f.Key == key {
			return f, true
		}
	}
	return StoredFlag{}, false
}

// Action names what a change did, as the audit log records it.
type Action string

const (
	ActionCreate  Action = "create"
	ActionUpdate  Action = "update"
	ActionDelete  Action = "delete"
	ActionEnable  Action = "enable"
	ActionDisable Action = "disable"
	ActionCopy    Action = "copy"
	ActionImport  Action = "import"
	// ActionSet is a change to the set's evaluators or metadata.
	ActionSet Action = "set"
)

// Mutation is what one write does to an environment; Repository.Apply stores it atomically with its audit rows.
type Mutation struct {
	Actor string
	// Put holds created or replaced flags by key, with their action; Delete the keys to remove.
	Put    map[string]PutFlag
	Delete map[string]Action
	// Evaluators and Metadata, when non-nil, replace the set's.
	Evaluators json.RawMessage
	Metadata   json.RawMessage
}

// PutFlag is one flag a mutation writes.
type PutFlag struct {
	Definition json.RawMessage
	Owner      string
	Action     Action
}

// Empty reports whether the mutation changes nothing.
func (m *Mutation) Empty() bool {
	return len(m.Put) == 0 && len(m.Delete) == 0 && m.Evaluators == nil && m.Metadata == nil
}

// AuditEntry is one recorded change. Before is nil for a creation and After nil for a deletion.
type AuditEntry struct {
	ID          int64           `json:"id"`
	Environment string          `json:"environment"`
	Version     int64           `json:"version"`
	FlagKey     string          `json:"flagKey,omitempty"`
	Action      Action          `json:"action"`
	Actor       string          `json:"actor"`
	At          time.Time       `json:"at"`
	Before      json.RawMessage `json:"before,omitempty"`
	After       json.RawMessage `json:"after,omitempty"`
}

// AuditQuery selects audit entries, newest first.
type AuditQuery struct {
	Environment string
	FlagKey     string
	// BeforeID pages backwards: only entries with a smaller ID.
	BeforeID int64
	Limit    int
}

// Repository is the flags' storage port.
type Repository interface {
	// EnsureEnvironments creates the named environments that do not exist yet; it never removes any.
	EnsureEnvironments(ctx context.Context, names []string) error
	// EnvironmentVersions returns every environment's current version.
	EnvironmentVersions(ctx context.Context) (map[string]int64, error)
	// LoadEnvironment reads an environment's flag set; errs.NotFound when it does not exist.
	LoadEnvironment(ctx context.Context, name string) (StoredEnvironment, error)
	// Apply locks the environment, hands its current state to plan, and stores the mutation plan returns,
	// raising the version by one and writing an audit entry per flag changed. A nil or empty mutation stores
	// nothing. It returns the state after the change.
	Apply(ctx context.Context, name string, plan func(current StoredEnvironment) (*Mutation, error)) (StoredEnvironment, error)
	// AuditSince returns the entries of an environment with a version above after, oldest first.
	AuditSince(ctx context.Context, name string, after int64) ([]AuditEntry, error)
	// AuditAfterID returns up to limit entries with an ID above id across environments, oldest first.
	AuditAfterID(ctx context.Context, id int64, limit int) ([]AuditEntry, error)
	// Audit lists entries newest first.
	Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
	// Setting returns a shared value, creating it with create() when absent; all replicas get the same value.
	Setting(ctx context.Context, key string, create func() (string, error)) (string, error)
}
