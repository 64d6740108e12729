package web

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"html/template"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/deploy"
)

// text is a JSON string read leniently: a value of another type (which validation should have refused) becomes
// its JSON text rather than failing the whole page.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = text(s)
		return nil
	}
	if string(b) == "null" {
		*t = ""
		return nil
	}
	*t = text(b)
	return nil
}

// texts is a JSON array of strings read leniently.
type texts []string

func (t *texts) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		var one text
		_ = one.UnmarshalJSON(b)
		if one != "" {
			*t = texts{string(one)}
		}
		return nil
	}
	out := make(texts, 0, len(raw))
	for _, r := range raw {
		var s text
		_ = s.UnmarshalJSON(r)
		out = append(out, string(s))
	}
	*t = out
	return nil
}

// textMap is a JSON object of strings read leniently.
type textMap map[string]string

func (m *textMap) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil
	}
	out := make(textMap, len(raw))
	for k, r := range raw {
		var s text
		_ = s.UnmarshalJSON(r)
		out[k] = string(s)
	}
	*m = out
	return nil
}

// sortedKeys returns the map's keys in order.
func (m textMap) sortedKeys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type relationDoc struct {
	Type      text `json:"type"`
	TargetRef text `json:"targetRef"`
}

type linkDoc struct {
	URL   text `json:"url"`
	Title text `json:"title"`
	Icon  text `json:"icon"`
	Type  text `json:"type"`
}

// rowDoc is the part of an entity a catalog table row shows; decoding only this keeps a page of rows cheap.
type rowDoc struct {
	Kind     text `json:"kind"`
	Metadata struct {
		Name        text  `json:"name"`
		Namespace   text  `json:"namespace"`
		Title       text  `json:"title"`
		Description text  `json:"description"`
		Tags        texts `json:"tags"`
	} `json:"metadata"`
	Spec struct {
		Type      text `json:"type"`
		Lifecycle text `json:"lifecycle"`
		Owner     text `json:"owner"`
		Profile   struct {
			DisplayName text `json:"displayName"`
		} `json:"profile"`
	} `json:"spec"`
	Relations []relationDoc `json:"relations"`
	Status    struct {
		Items []json.RawMessage `json:"items"`
	} `json:"status"`
}

// entityRow is one entity as lists show it.
type entityRow struct {
	Ref         string
	URL         string
	Name        string
	Title       string
	Kind        string
	Namespace   string
	Type        string
	Lifecycle   string
	Description string
	Owner       refLink
	Tags        []string
	Errors      int
}

func toRow(raw []byte) entityRow {
	var d rowDoc
	_ = json.Unmarshal(raw, &d)
	ns := string(d.Metadata.Namespace)
	if ns == "" {
		ns = catalog.DefaultNamespace
	}
	ref := catalog.Ref{Kind: string(d.Kind), Namespace: ns, Name: string(d.Metadata.Name)}.String()
	row := entityRow{Ref: ref, URL: entityURL(ref), Name: string(d.Metadata.Name), Title: string(d.Metadata.Title),
		Kind: string(d.Kind), Namespace: ns, Type: string(d.Spec.Type), Lifecycle: string(d.Spec.Lifecycle),
		Description: string(d.Metadata.Description), Tags: d.Metadata.Tags, Errors: len(d.Status.Items)}
	if row.Title == "" && d.Spec.Profile.DisplayName != "" {
		row.Title = string(d.Spec.Profile.DisplayName)
	}
	for _, r := range d.Relations {
		if r.Type == catalog.RelationOwnedBy {
			row.Owner = linkTo(string(r.TargetRef), ns)
			break
		}
	}
	if row.Owner.Ref == "" && d.Spec.Owner != "" {
		row.Owner = refLink{Label: string(d.Spec.Owner)}
	}
	return row
}

// refLink is an entity reference shown as a link.
type refLink struct {
	Ref   string
	Label string
	Kind  string
	URL   string
}

// linkTo makes a link of a canonical ref, labelled as Backstage humanizes refs: the namespace is left out when it
// is the context's.
func linkTo(ref, contextNamespace string) refLink {
	r, err := catalog.ParseCanonicalRef(ref)
	if err != nil {
		return refLink{Ref: ref, Label: ref}
	}
	label := r.Name
	if !strings.EqualFold(r.Namespace, contextNamespace) && !strings.EqualFold(r.Namespace, catalog.DefaultNamespace) {
		label = r.Namespace + "/" + r.Name
	}
	return refLink{Ref: ref, Label: label, Kind: r.Kind, URL: entityURL(ref)}
}

// entityURL is the entity page of a canonical ref, at Backstage's path.
func entityURL(ref string) string {
	r, err := catalog.ParseCanonicalRef(strings.ToLower(ref))
	if err != nil {
		return ""
	}
	return "/catalog/" + url.PathEscape(r.Namespace) + "/" + url.PathEscape(r.Kind) + "/" + url.PathEscape(r.Name)
}

// kindLabel is a kind as people write it.
func kindLabel(kind string) string {
	switch strings.ToLower(kind) {
	case "api":
		return "API"
	case "":
		return ""
	}
	k := strings.ToLower(kind)
	return strings.ToUpper(k[:1]) + k[1:]
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

func urlQueryUnescape(s string) string {
	out, err := url.QueryUnescape(s)
	if err != nil {
		return ""
	}
	return out
}

func constantTimeEqual(a, b string) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

type navItem struct {
	URL, Label string
	Current    bool
}

// ago says how long ago t was, coarsely.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d.Minutes()), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int(d.Hours()), "hour") + " ago"
	case d < 60*24*time.Hour:
		return plural(int(d.Hours()/24), "day") + " ago"
	}
	return t.UTC().Format("2 Jan 2006")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// prettyJSON indents JSON for reading; text that is not JSON comes back as it was.
func prettyJSON(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return string(raw)
	}
	return string(out)
}

// jsonText renders a decoded JSON value compactly, as variant values are shown.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func (h *Handler) funcs() template.FuncMap {
	return template.FuncMap{
		"asset":     h.assetURL,
		"kindLabel": kindLabel,
		"entityURL": entityURL,
		"ago":       func(t time.Time) string { return ago(h.opts.Now(), t) },
		"isoTime":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"fullTime":  func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") },
		"json":      func(raw []byte) string { return prettyJSON(raw) },
		"number": func(n int) string {
			s := strconv.Itoa(n)
			for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
				s = s[:i] + "," + s[i:]
			}
			return s
		},
		"add":             func(a, b int) int { return a + b },
		"deployFormData":  deployFormData,
		"releaseStatuses": func() []deploy.Status { return releaseStatuses },
		"markdown":        markdown,
		"join":            strings.Join,
		"firstTags": func(tags []string, n int) []string {
			if len(tags) > n {
				return tags[:n]
			}
			return tags
		},
		"plural": plural,
		"lower":  strings.ToLower,
		"short": func(ref string) string {
			return linkTo(ref, catalog.DefaultNamespace).Label
		},
		"refLink": func(ref string) refLink { return linkTo(ref, catalog.DefaultNamespace) },
		"navItem": func(d pageData, id, url, label string) navItem {
			return navItem{URL: url, Label: label, Current: d.Section == id}
		},
		"initial": func(name string) string {
			for _, r := range name {
				return strings.ToUpper(string(r))
			}
			return "?"
		},
		"facetItem": func(param string, v facetValue) struct {
			Param string
			V     facetValue
		} {
			return struct {
				Param string
				V     facetValue
			}{param, v}
		},
		"apiTable": func(heading, id string, apis []apiSummary) struct {
			Heading, ID string
			APIs        []apiSummary
		} {
			return struct {
				Heading, ID string
				APIs        []apiSummary
			}{heading, id, apis}
		},
		"statusClass": func(code string) string {
			if code == "" || code[0] < '1' || code[0] > '5' {
				return "x"
			}
			return code[:1]
		},
		"variantRow": func(i int, v variantField) struct {
			I int
			V variantField
		} {
			return struct {
				I int
				V variantField
			}{i, v}
		},
		"blankVariant": func() variantField { return variantField{} },
		"hasFieldErrors": func(steps []formStep) bool {
			for _, st := range steps {
				for _, f := range st.Fields {
					if len(f.Errors) > 0 {
						return true
					}
				}
			}
			return false
		},
	}
}
