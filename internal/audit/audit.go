// Package audit is Portal's one audit log: every mutation through the API, with who made it, when, from where,
// its outcome and, where the domain knows them, the resource's state before and after.
package audit

import (
	"context"
	"encoding/json"
	"time"
)

// Event is one recorded mutation.
type Event struct {
	ID       int64           `json:"id"`
	At       time.Time       `json:"at"`
	Actor    string          `json:"actor"`
	Via      string          `json:"via,omitempty"`
	Action   string          `json:"action" doc:"The API operation, e.g. createLocation or putFlag"`
	Method   string          `json:"method"`
	Path     string          `json:"path"`
	Resource string          `json:"resource,omitempty" doc:"The entity, flag or task the action was about"`
	Status   int             `json:"status"`
	Remote   string          `json:"remote,omitempty" doc:"The client address"`
	Before   json.RawMessage `json:"before,omitempty"`
	After    json.RawMessage `json:"after,omitempty"`
}

// Query filters the log; results are newest first.
type Query struct {
	Actor    string
	Action   string
	Resource string
	Since    time.Time
	BeforeID int64
	Limit    int
}

// Store keeps the log.
type Store interface {
	RecordAudit(ctx context.Context, e Event) error
	ListAudit(ctx context.Context, q Query) ([]Event, error)
}

// Detail carries what a handler knows about a mutation to the middleware that records it.
type Detail struct {
	Resource string
	Before   any
	After    any
}

type detailKey struct{}

// WithDetail returns a context in which handlers can describe their mutation with Describe.
func WithDetail(ctx context.Context) (context.Context, *Detail) {
	d := &Detail{}
	return context.WithValue(ctx, detailKey{}, d), d
}

// Describe records the resource and its states for the audit entry of the current request, if one is kept.
func Describe(ctx context.Context, resource string, before, after any) {
	if d, ok := ctx.Value(detailKey{}).(*Detail); ok {
		d.Resource, d.Before, d.After = resource, before, after
	}
}
