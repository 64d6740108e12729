package scaffolder

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// Integrations maps SCM hosts to their integration type ("github", "gitlab", "bitbucket",
// "bitbucketServer", "azure", "gitea", "gerrit"), as Backstage's integrations config does. The
// parseRepoUrl filter and the publish actions accept only hosts listed here.
type Integrations map[string]string

// DefaultIntegrations are the public hosts Backstage configures out of the box.
var DefaultIntegrations = Integrations{
	"github.com":    "github",
	"gitlab.com":    "gitlab",
	"bitbucket.org": "bitbucket",
	"dev.azure.com": "azure",
}

// RepoURL is a parsed RepoUrlPicker value, "host?owner=o&repo=r".
type RepoURL struct {
	Host         string
	Owner        string
	Repo         string
	Organization string
	Workspace    string
	Project      string
	// Type is the host's integration type.
	Type string
}

// ParseRepoURL parses a RepoUrlPicker value as Backstage's parseRepoUrl does, checking the query
// parameters the host's integration type requires. Errors are errs.Invalid with Backstage's wording.
func ParseRepoURL(repoURL string, integrations Integrations) (RepoURL, error) {
	u, err := url.Parse("https://" + repoURL)
	if err != nil || u.Host == "" {
		return RepoURL{}, errs.E(errs.Invalid, "Invalid repo URL passed to publisher, got %s", repoURL)
	}
	q := u.Query()
	r := RepoURL{
		Host: u.Host, Owner: q.Get("owner"), Repo: q.Get("repo"), Organization: q.Get("organization"),
		Workspace: q.Get("workspace"), Project: q.Get("project"),
	}
	r.Type = integrations[r.Host]
	if r.Type == "" {
		return RepoURL{}, errs.E(errs.Invalid, "No matching integration configuration for host %s, please check your integrations config", r.Host)
	}
	need := func(params ...string) error {
		for _, p := range params {
			if q.Get(p) == "" {
				return errs.E(errs.Invalid, "Invalid repo URL passed to publisher: %s, missing %s", u.String(), p)
			}
		}
		return nil
	}
	switch r.Type {
	case "bitbucket":
		if r.Host == "www.bitbucket.org" {
			err = need("workspace")
		}
		if err == nil {
			err = need("project", "repo")
		}
	case "azure":
		err = need("project", "repo")
	case "gitlab":
		if r.Project == "" {
			err = need("owner", "repo")
		}
	case "gitea", "gerrit":
		err = need("repo")
	case "bitbucketServer":
	default:
		err = need("repo", "owner")
	}
	if err != nil {
		return RepoURL{}, err
	}
	return r, nil
}

// backstageFilters are the filters Backstage adds to nunjucks' own (createDefaultFilters).
func backstageFilters(integrations Integrations) map[string]nunjucks.Filter {
	return map[string]nunjucks.Filter{
		"parseRepoUrl": func(in any, _ []any) (any, error) {
			s, _ := in.(string)
			r, err := ParseRepoURL(s, integrations)
			if err != nil {
				return nil, err
			}
			// Values cross Backstage's isolate as JSON, so unset parts are absent, not null.
			o := nunjucks.ObjectOf("host", r.Host)
			for _, kv := range [][2]string{{"owner", r.Owner}, {"repo", r.Repo}, {"organization", r.Organization}, {"workspace", r.Workspace}, {"project", r.Project}} {
				if kv[1] != "" {
					o.Set(kv[0], kv[1])
				}
			}
			return o, nil
		},
		"projectSlug": func(in any, _ []any) (any, error) {
			s, _ := in.(string)
			r, err := ParseRepoURL(s, integrations)
			if err != nil {
				return nil, err
			}
			owner := r.Owner
			if owner == "" {
				owner = "undefined" // JavaScript's template literal prints a missing owner so
			}
			return owner + "/" + r.Repo, nil
		},
		"parseEntityRef": func(in any, args []any) (any, error) {
			s, ok := in.(string)
			if !ok {
				return nil, errs.E(errs.Invalid, "Entity reference must be a string, got %s", describe(in))
			}
			var d catalog.RefDefaults
			if len(args) > 0 {
				if o, ok := args[0].(*nunjucks.Object); ok {
					d.Kind = getString(o, "defaultKind")
					d.Namespace = getString(o, "defaultNamespace")
				}
			}
			ref, err := catalog.ParseRef(s, d)
			if err != nil {
				return nil, err
			}
			return nunjucks.ObjectOf("kind", ref.Kind, "namespace", ref.Namespace, "name", ref.Name), nil
		},
		"pick": func(in any, args []any) (any, error) {
			if len(args) == 0 {
				return nunjucks.Undefined, nil
			}
			return lodashGet(in, args[0]), nil
		},
	}
}

// lodashGet is lodash's get(obj, path) for paths like "a.b[0].c" or "a['b-c']".
func lodashGet(v any, path any) any {
	var parts []string
	switch p := path.(type) {
	case string:
		parts = splitLodashPath(p)
	case []any:
		for _, e := range p {
			parts = append(parts, fmt.Sprint(nunjucks.ToGo(e)))
		}
	case float64:
		parts = []string{strconv.FormatFloat(p, 'f', -1, 64)}
	default:
		return nunjucks.Undefined
	}
	for _, part := range parts {
		switch x := v.(type) {
		case *nunjucks.Object:
			var ok bool
			if v, ok = x.Get(part); !ok {
				return nunjucks.Undefined
			}
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nunjucks.Undefined
			}
			v = x[i]
		default:
			return nunjucks.Undefined
		}
	}
	return v
}

func splitLodashPath(p string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '.':
			flush()
		case '[':
			flush()
			end := strings.IndexByte(p[i:], ']')
			if end < 0 {
				cur.WriteString(p[i:])
				i = len(p)
				continue
			}
			key := p[i+1 : i+end]
			if len(key) >= 2 && (key[0] == '\'' || key[0] == '"') && key[len(key)-1] == key[0] {
				key = key[1 : len(key)-1]
			}
			out = append(out, key)
			i += end
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return out
}
