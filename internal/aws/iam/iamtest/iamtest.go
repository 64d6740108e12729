// Package iamtest is a loopback IAM for tests of the IAM adapter: the query-protocol CreateRole, GetRole and
// PutRolePolicy that the real SDK client sends, answered in IAM's XML. Unlike general-purpose AWS fakes it keeps
// what a role was created with, its path and permissions boundary included, because that is what the adapter's
// safety rests on and what the tests must see.
package iamtest

import (
	"encoding/xml"
	"fmt"
	"hash/fnv"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Role is a role as the fake keeps it.
type Role struct {
	Name        string
	Path        string
	ARN         string
	Description string
	// PermissionsBoundary is the boundary policy's ARN; empty for none.
	PermissionsBoundary string
	AssumeRolePolicy    string
	Tags                map[string]string
	// Policies are the inline policies by name.
	Policies map[string]string
}

// Call is one request the fake answered.
type Call struct {
	Action   string
	RoleName string
}

// IAM is the fake, serving on URL.
type IAM struct {
	*httptest.Server
	// Account is the account of the ARNs it makes.
	Account string

	mu    sync.Mutex
	roles map[string]*Role
	calls []Call
	deny  map[string]bool
}

// New starts a fake IAM for account.
func New(account string) *IAM {
	f := &IAM{Account: account, roles: map[string]*Role{}, deny: map[string]bool{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// AddRole stores a role made outside the adapter (by OpenTofu, by hand); Path defaults to "/" and ARN follows it.
func (f *IAM) AddRole(r Role) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Path == "" {
		r.Path = "/"
	}
	if r.ARN == "" {
		r.ARN = f.arn(r.Path, r.Name)
	}
	r.Tags = maps.Clone(r.Tags)
	r.Policies = maps.Clone(r.Policies)
	if r.Policies == nil {
		r.Policies = map[string]string{}
	}
	f.roles[r.Name] = &r
}

// Role returns a copy of the named role.
func (f *IAM) Role(name string) (Role, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.roles[name]
	if !ok {
		return Role{}, false
	}
	c := *r
	c.Tags, c.Policies = maps.Clone(r.Tags), maps.Clone(r.Policies)
	return c, true
}

// Calls returns the requests answered so far, in order.
func (f *IAM) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Deny makes the fake refuse action (CreateRole, ...) with AccessDenied, as IAM does when the caller's policy lacks it.
func (f *IAM) Deny(action string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deny[action] = true
}

// Allow undoes Deny.
func (f *IAM) Allow(action string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.deny, action)
}

func (f *IAM) arn(path, name string) string {
	return fmt.Sprintf("arn:aws:iam::%s:role%s%s", f.Account, path, name)
}

// IAM's own rules for the fields the adapter sends, so a malformed request fails here as it would in AWS.
var (
	validPath     = regexp.MustCompile(`^(/|/[\x21-\x7e]+/)$`)
	validRoleName = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	validPolicy   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:policy/[\x21-\x7e]+$`)
)

func (f *IAM) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		writeError(w, http.StatusBadRequest, "InvalidAction", "expected a form POST")
		return
	}
	action, name := r.PostForm.Get("Action"), r.PostForm.Get("RoleName")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, Call{Action: action, RoleName: name})
	if f.deny[action] {
		writeError(w, http.StatusForbidden, "AccessDenied", "User is not authorized to perform: iam:"+action+" on resource: role "+name)
		return
	}
	if !validRoleName.MatchString(name) {
		writeError(w, http.StatusBadRequest, "ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'roleName' failed to satisfy constraint", name))
		return
	}
	switch action {
	case "CreateRole":
		f.createRole(w, r, name)
	case "GetRole":
		role, ok := f.roles[name]
		if !ok {
			writeError(w, http.StatusNotFound, "NoSuchEntity", "The role with name "+name+" cannot be found.")
			return
		}
		writeResult(w, action, toXML(role))
	case "PutRolePolicy":
		role, ok := f.roles[name]
		if !ok {
			writeError(w, http.StatusNotFound, "NoSuchEntity", "The role with name "+name+" cannot be found.")
			return
		}
		policy, doc := r.PostForm.Get("PolicyName"), r.PostForm.Get("PolicyDocument")
		if policy == "" || doc == "" {
			writeError(w, http.StatusBadRequest, "ValidationError", "PolicyName and PolicyDocument are required")
			return
		}
		role.Policies[policy] = doc
		writeResult(w, action, nil)
	default:
		writeError(w, http.StatusBadRequest, "InvalidAction", "iamtest does not implement "+action)
	}
}

func (f *IAM) createRole(w http.ResponseWriter, r *http.Request, name string) {
	form := r.PostForm
	path := form.Get("Path")
	if path == "" {
		path = "/"
	}
	boundary := form.Get("PermissionsBoundary")
	switch {
	case form.Get("AssumeRolePolicyDocument") == "":
		writeError(w, http.StatusBadRequest, "ValidationError", "AssumeRolePolicyDocument is required")
		return
	case !validPath.MatchString(path) || len(path) > 512:
		writeError(w, http.StatusBadRequest, "ValidationError", "The specified value for path is invalid: "+path)
		return
	case boundary != "" && !validPolicy.MatchString(boundary):
		writeError(w, http.StatusBadRequest, "InvalidInput", "ARN "+boundary+" is not valid.")
		return
	}
	if _, ok := f.roles[name]; ok {
		writeError(w, http.StatusConflict, "EntityAlreadyExists", "Role with name "+name+" already exists.")
		return
	}
	role := &Role{Name: name, Path: path, ARN: f.arn(path, name), Description: form.Get("Description"), PermissionsBoundary: boundary,
		AssumeRolePolicy: form.Get("AssumeRolePolicyDocument"), Tags: map[string]string{}, Policies: map[string]string{}}
	for i := 1; form.Has("Tags.member." + strconv.Itoa(i) + ".Key"); i++ {
		p := "Tags.member." + strconv.Itoa(i)
		role.Tags[form.Get(p+".Key")] = form.Get(p + ".Value")
	}
	f.roles[name] = role
	writeResult(w, "CreateRole", toXML(role))
}

type xmlBoundary struct {
	Arn  string `xml:"PermissionsBoundaryArn"`
	Type string `xml:"PermissionsBoundaryType"`
}

type xmlTag struct {
	Key   string
	Value string
}

type xmlRole struct {
	XMLName                  xml.Name `xml:"Role"`
	Arn                      string
	AssumeRolePolicyDocument string
	CreateDate               string
	Description              string `xml:",omitempty"`
	Path                     string
	PermissionsBoundary      *xmlBoundary `xml:",omitempty"`
	RoleID                   string       `xml:"RoleId"`
	RoleName                 string
	Tags                     []xmlTag `xml:"Tags>member"`
}

func toXML(r *Role) *xmlRole {
	h := fnv.New64a()
	_, _ = h.Write([]byte(r.ARN))
	out := &xmlRole{Arn: r.ARN, AssumeRolePolicyDocument: url.QueryEscape(r.AssumeRolePolicy), CreateDate: time.Now().UTC().Format(time.RFC3339),
		Description: r.Description, Path: r.Path, RoleID: fmt.Sprintf("AROA%016X", h.Sum64()), RoleName: r.Name}
	if r.PermissionsBoundary != "" {
		out.PermissionsBoundary = &xmlBoundary{Arn: r.PermissionsBoundary, Type: "PermissionsBoundaryPolicy"}
	}
	for _, k := range slices.Sorted(maps.Keys(r.Tags)) {
		out.Tags = append(out.Tags, xmlTag{Key: k, Value: r.Tags[k]})
	}
	return out
}

// writeResult answers action with <ActionResponse><ActionResult>role</ActionResult>...</ActionResponse>, IAM's shape.
func writeResult(w http.ResponseWriter, action string, role *xmlRole) {
	var inner []byte
	if role != nil {
		var err error
		if inner, err = xml.Marshal(role); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "text/xml")
	_, _ = fmt.Fprintf(w, "<%sResponse><%sResult>%s</%sResult><ResponseMetadata><RequestId>iamtest</RequestId></ResponseMetadata></%sResponse>",
		action, action, inner, action, action)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(msg))
	_, _ = fmt.Fprintf(w, "<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>iamtest</RequestId></ErrorResponse>", code, b.String())
}
