package githubtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
)

// Sign returns the X-Hub-Signature-256 value GitHub sends for payload under secret.
func Sign(secret, payload []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(payload)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// NewWebhookRequest builds a delivery of event (X-GitHub-Event) carrying payload as application/json,
// signed with secret; a nil secret leaves it unsigned.
func NewWebhookRequest(event string, payload, secret []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/github/webhook", bytes.NewReader(payload))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "GitHub-Hookshot/test")
	r.Header.Set("X-GitHub-Event", event)
	r.Header.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	r.Header.Set("X-GitHub-Hook-ID", "292430182")
	if secret != nil {
		r.Header.Set("X-Hub-Signature-256", Sign(secret, payload))
	}
	return r
}

// Push describes a push delivery.
type Push struct {
	// Host is the web host, github.com when empty.
	Host          string
	Owner, Repo   string
	Ref           string // e.g. "refs/heads/main"
	DefaultBranch string
	Commits       []Commit
}

// Commit lists the files one pushed commit touched.
type Commit struct {
	Added, Modified, Removed []string
}

// Payload renders the push as GitHub's push event JSON (the fields a receiver can rely on).
func (p Push) Payload() []byte {
	host := p.Host
	if host == "" {
		host = "github.com"
	}
	html := "https://" + host + "/" + p.Owner + "/" + p.Repo
	list := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	commits := []map[string]any{}
	for i, c := range p.Commits {
		id := fmt.Sprintf("%040x", i+1)
		commits = append(commits, map[string]any{
			"id":        id,
			"tree_id":   fmt.Sprintf("%040x", i+1001),
			"distinct":  true,
			"message":   fmt.Sprintf("commit %d", i+1),
			"timestamp": "2024-05-01T12:00:00Z",
			"url":       html + "/commit/" + id,
			"author":    map[string]string{"name": "Dev", "email": "dev@billpay.example", "username": "dev"},
			"committer": map[string]string{"name": "Dev", "email": "dev@billpay.example", "username": "dev"},
			"added":     list(c.Added),
			"removed":   list(c.Removed),
			"modified":  list(c.Modified),
		})
	}
	var head any
	if len(commits) > 0 {
		head = commits[len(commits)-1]
	}
	after := strings.Repeat("0", 40)
	if len(commits) > 0 {
		after = commits[len(commits)-1]["id"].(string)
	}
	body := map[string]any{
		"ref":         p.Ref,
		"before":      strings.Repeat("0", 39) + "f",
		"after":       after,
		"created":     false,
		"deleted":     false,
		"forced":      false,
		"base_ref":    nil,
		"compare":     html + "/compare/before...after",
		"commits":     commits,
		"head_commit": head,
		"repository": map[string]any{
			"id":             123,
			"name":           p.Repo,
			"full_name":      p.Owner + "/" + p.Repo,
			"private":        false,
			"owner":          map[string]any{"name": p.Owner, "login": p.Owner},
			"html_url":       html,
			"default_branch": p.DefaultBranch,
			"master_branch":  p.DefaultBranch,
		},
		"pusher": map[string]string{"name": "dev", "email": "dev@billpay.example"},
		"sender": map[string]any{"login": "dev", "id": 1},
	}
	b, err := json.Marshal(body)
	if err != nil {
		panic(err) // only plain maps and strings above
	}
	return b
}
