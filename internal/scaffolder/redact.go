package scaffolder

import (
	"sort"
	"strings"
	"sync"

	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// Redacted replaces secret values in logs, as in Backstage.
const Redacted = "***"

// Redactor masks secret values in text. Every log line a task produces passes through one, so a
// secret never reaches the event store even when an action echoes it. It is safe for concurrent use.
type Redactor struct {
	mu     sync.RWMutex
	values []string
}

// NewRedactor returns a redactor for the given secret values.
func NewRedactor(values ...string) *Redactor {
	r := &Redactor{}
	r.Add(values...)
	return r
}

// Add registers more values to mask. Empty values are ignored; very short ones too, since masking
// every "a" would make logs unreadable without protecting anything.
func (r *Redactor) Add(values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range values {
		if len(v) < 3 {
			continue
		}
		r.values = append(r.values, v)
	}
	// Longest first, so a secret that contains another is masked whole.
	sort.Slice(r.values, func(i, j int) bool { return len(r.values[i]) > len(r.values[j]) })
}

// Redact returns s with every registered value replaced by ***.
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, v := range r.values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Redacted)
		}
	}
	return s
}

// RedactSecrets returns a copy of secrets with every value replaced by ***, for dry-run logs that
// show the inputs an action would get.
func RedactSecrets(secrets map[string]string) map[string]string {
	out := make(map[string]string, len(secrets))
	for k := range secrets {
		out[k] = Redacted
	}
	return out
}

// secretInfluenced returns the strings of withSecrets that differ from their counterpart in
// withoutSecrets: values built from a secret (a header "Bearer ${{ secrets.token }}"), which must be
// masked as well as the secret itself (Backstage's collectSecretRedactions).
func secretInfluenced(withSecrets, withoutSecrets any) []string {
	switch w := withSecrets.(type) {
	case string:
		if o, ok := withoutSecrets.(string); !ok || o != w {
			return []string{w}
		}
	case []any:
		o, _ := withoutSecrets.([]any)
		var out []string
		for i, e := range w {
			var oe any
			if i < len(o) {
				oe = o[i]
			}
			out = append(out, secretInfluenced(e, oe)...)
		}
		return out
	case *nunjucks.Object:
		o, _ := withoutSecrets.(*nunjucks.Object)
		var out []string
		for _, k := range w.Keys() {
			e, _ := w.Get(k)
			var oe any
			if o != nil {
				oe, _ = o.Get(k)
			}
			out = append(out, secretInfluenced(e, oe)...)
		}
		return out
	}
	return nil
}
