// Package web is the developer portal in the browser: server-rendered html/template pages over the same domain
// services the JSON API uses (the catalog's index, the flag service, the authenticator, the audit log), with
// embedded CSS and a little plain JavaScript. Every page reads without JavaScript; every form posts with a CSRF
// token. Sections whose services are not configured yet (TechDocs, the scaffolder, deploys) render an honest
// "not configured" page instead of sample data.
package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/billpay/portal/internal/audit"
	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/catalog/service"
	"github.com/billpay/portal/internal/errs"
	flagservice "github.com/billpay/portal/internal/flags/service"
	"github.com/billpay/portal/internal/ratelimit"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/search"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Catalog is what the pages read the catalog through; *service.Service implements it. Pages read the index of
// the moment once per request and never list every entity.
type Catalog interface {
	Index() *catalog.Index
	// Ancestry returns errs.NotFound when no entity has that ref.
	Ancestry(ctx context.Context, kind, namespace, name string) (string, []service.AncestryItem, error)
	Refresh(ctx context.Context, entityRef string) error
}

var _ Catalog = (*service.Service)(nil)

// Searcher is the portal-wide search over the catalog and TechDocs; *search.Service implements it.
type Searcher interface {
	Query(ctx context.Context, q search.Query) (search.ResultSet, error)
}

var _ Searcher = (*search.Service)(nil)

// Options are the services the pages are drawn from.
type Options struct {
	// Catalog and Auth are required.
	Catalog Catalog
	Auth    *auth.Authenticator
	// Flags serves /flags; nil renders the flags pages as not configured.
	Flags *flagservice.Service
	// Scaffolder serves /create (templates, their forms, tasks); nil renders it as not configured.
	Scaffolder *scaffolder.Service
	// TechDocs serves /docs (the documented entities and the reader); nil renders it as not configured.
	TechDocs TechDocs
	// Deploys serves /deploys (environments, releases, rollouts, rollbacks, OpenTofu runs) and the entity page's
	// Deployments tab; nil renders them as not configured.
	Deploys *Deploys
	// Search runs the home page's search over the catalog and docs; nil searches the catalog index alone.
	Search Searcher
	// Audit records the changes made through the pages, as the API records its own; nil records nothing.
	Audit audit.Store
	// SignIn says GitHub sign-in is configured, so signed-out people get a sign-in link.
	SignIn bool
	// SessionCookie is the name of the session cookie the API sets at sign-in.
	SessionCookie string
	// SecureCookies marks the cookies the pages set Secure (everything but plain-HTTP local setups).
	SecureCookies bool
	// MutationsPerSecond and MutationBurst limit each principal's changes through the pages, as the API limits
	// its own; 0 turns the limit off.
	MutationsPerSecond float64
	MutationBurst      int
	Version            string
	Log                *slog.Logger
	// Now is the clock behind "3 minutes ago"; nil is time.Now.
	Now func() time.Time
}

// Handler serves the portal's pages and static assets.
type Handler struct {
	opts   Options
	mux    *http.ServeMux
	pages  map[string]*template.Template
	assets map[string]*asset
	origin *http.CrossOriginProtection
	limits *ratelimit.Keyed
}

// New parses the templates and registers the pages.
func New(opts Options) (*Handler, error) {
	if opts.Catalog == nil || opts.Auth == nil {
		return nil, errs.E(errs.Invalid, "web: the catalog and the authenticator are required")
	}
	if opts.SessionCookie == "" {
		opts.SessionCookie = "portal_session"
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{opts: opts, mux: http.NewServeMux(), origin: http.NewCrossOriginProtection(),
		limits: ratelimit.New(opts.MutationsPerSecond, opts.MutationBurst, nil)}
	var err error
	if h.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if h.pages, err = h.parsePages(); err != nil {
		return nil, err
	}
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	h.mux.HandleFunc("GET /static/{file...}", h.serveAsset)
	h.page("GET /{$}", h.home)
	h.page("GET /catalog", h.catalogList)
	h.page("GET /catalog/errors", h.catalogErrors)
	h.page("GET /catalog/{namespace}/{kind}/{name}", h.entityPage)
	h.page("GET /catalog/{namespace}/{kind}/{name}/{tab}", h.entityPage)
	h.page("POST /catalog/{namespace}/{kind}/{name}/refresh", h.entityRefresh)
	h.page("GET /flags", h.flagList)
	h.page("GET /flags/{env}", h.flagList)
	h.page("GET /flags/{env}/_new", h.flagNew)
	h.page("POST /flags/{env}/_new", h.flagCreate)
	h.page("GET /flags/{env}/_audit", h.flagEnvAudit)
	h.page("GET /flags/{env}/{key}", h.flagPage)
	h.page("POST /flags/{env}/{key}", h.flagSave)
	h.page("GET /flags/{env}/{key}/preview", h.flagPreview)
	h.page("POST /flags/{env}/{key}/state", h.flagState)
	h.page("POST /flags/{env}/{key}/copy", h.flagCopy)
	h.page("GET /settings", h.settings)
	h.page("POST /settings/tokens", h.tokenCreate)
	h.page("POST /settings/tokens/{id}/revoke", h.tokenRevoke)
	h.page("POST /settings/signout", h.signOut)
	h.page("GET /docs", h.docs)
	h.page("GET /docs/{namespace}/{kind}/{name}", func(w http.ResponseWriter, r *http.Request, v *viewer) error {
		if h.opts.TechDocs == nil {
			return h.notConfigured(w, r, v, "docs")
		}
		http.Redirect(w, r, r.URL.EscapedPath()+"/", http.StatusMovedPermanently)
		return nil
	})
	h.page("GET /docs/{namespace}/{kind}/{name}/{path...}", func(w http.ResponseWriter, r *http.Request, v *viewer) error {
		if h.opts.TechDocs == nil {
			return h.notConfigured(w, r, v, "docs")
		}
		return h.docsPage(w, r, v)
	})
	h.page("POST /docs/{namespace}/{kind}/{name}/rebuild", h.docsRebuild)
	h.page("GET /docs/{rest...}", h.docs)
	h.page("GET /create", h.createIndex)
	h.page("GET /create/templates/{namespace}/{name}", h.createWizard)
	h.page("POST /create/templates/{namespace}/{name}", h.createRun)
	h.page("GET /create/tasks/{id}", h.createTask)
	h.page("POST /create/tasks/{id}/cancel", h.createTaskCancel)
	h.page("POST /create/tasks/{id}/retry", h.createTaskRetry)
	h.page("GET /create/{rest...}", h.create)
	h.page("GET /deploys", h.deploys)
	h.page("POST /deploys", h.deployCreate)
	h.page("GET /deploys/releases/{id}", h.deployRelease)
	h.page("POST /deploys/releases/{id}/approve", h.deployApprove)
	h.page("POST /deploys/rollback", h.deployRollback)
	h.page("GET /deploys/tofu/{id}", h.tofuRun)
	h.page("POST /deploys/tofu/{id}/approve", h.tofuApprove)
	h.page("GET /deploys/{rest...}", h.deploys)
	// Anything else under the portal's prefixes is a page that does not exist.
	h.page("/", func(w http.ResponseWriter, r *http.Request, v *viewer) error {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			return errs.E(errs.Invalid, "%s is not allowed here", r.Method)
		}
		return errs.E(errs.NotFound, "There is no page at %s", r.URL.Path)
	})
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// pageFunc handles one page; an error it returns is rendered as the error page with the status its code maps to.
type pageFunc func(w http.ResponseWriter, r *http.Request, v *viewer) error

// page registers a page behind authentication and, for changes, the CSRF and cross-origin checks.
func (h *Handler) page(pattern string, fn pageFunc) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		v, err := h.authenticate(w, r)
		if err != nil {
			h.renderError(w, r, v, err)
			return
		}
		if r.Method == http.MethodPost {
			if err := h.checkPost(r, v); err != nil {
				h.renderError(w, r, v, err)
				return
			}
			if ok, wait := h.limits.Allow(v.Principal.Subject); !ok {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Max(1, math.Ceil(wait.Seconds())))))
				h.renderError(w, r, v, errs.E(errs.TooManyRequests, "too many changes from %s; wait a moment and try again", v.Principal.Subject))
				return
			}
		}
		if err := fn(w, r, v); err != nil {
			h.renderError(w, r, v, err)
		}
	})
}

// viewer is who is looking at a page, and what the page needs to know about them.
type viewer struct {
	Principal auth.Principal
	// Authenticated is false on the sign-in page shown to callers the portal does not know.
	Authenticated bool
	// Name is the display name from the user entity's profile, else the entity name.
	Name string
	// UserURL links to the viewer's User entity when the catalog has it.
	UserURL string
	// CSRF goes into every form as _csrf.
	CSRF string
	// SignInURL is set when sign-in is configured and the viewer has no session.
	SignInURL string
	// Flash is a one-time message left by the previous request (after a change).
	Flash string
	// Path is the request's path and query, for sign-in's returnTo and forms that come back.
	Path string
}

// SignedIn reports a person with a browser session.
func (v *viewer) SignedIn() bool { return v.Principal.Via == "session" }

// Guest reports the guest principal.
func (v *viewer) Guest() bool { return v.Principal.Guest }

// csrfCookie holds the double-submit token of callers without a session (the guest), whose changes would
// otherwise carry no secret at all.
const csrfCookie = "portal_csrf"

// flashCookie carries a message across the redirect that follows a change.
const flashCookie = "portal_flash"

// authenticate resolves the caller as the API does: bearer token, else session cookie, else the guest when guest
// access is on. Reading needs catalog.read.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (*viewer, error) {
	v := &viewer{Path: r.URL.RequestURI()}
	if h.opts.SignIn {
		v.SignInURL = "/api/auth/github/start?returnTo=" + urlQueryEscape(auth.SafeReturnTo(r.URL.RequestURI()))
	}
	session := ""
	if c, err := r.Cookie(h.opts.SessionCookie); err == nil {
		session = c.Value
	}
	p, err := h.opts.Auth.AuthenticateRequest(r.Context(), auth.Credentials{Authorization: r.Header.Get("Authorization"), Session: session})
	if err != nil {
		return v, err
	}
	v.Principal, v.Authenticated = p, true
	if p.Via == "session" {
		v.SignInURL = ""
		v.CSRF = p.CSRF
	} else {
		v.CSRF = h.csrfToken(w, r)
	}
	v.Name, v.UserURL = h.displayName(p)
	// A page's scripted updates (?fragment=1) leave the message for the page itself.
	if c, err := r.Cookie(flashCookie); err == nil && r.Method == http.MethodGet && r.URL.Query().Get("fragment") == "" {
		v.Flash = urlQueryUnescape(c.Value)
		http.SetCookie(w, h.cookie(flashCookie, "", -1))
	}
	if err := auth.Decide(p, auth.CatalogRead, auth.Resource{}); err != nil {
		return v, err
	}
	return v, nil
}

// csrfToken returns the caller's double-submit token, setting the cookie when there is none yet.
func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	token, err := auth.RandomSecret()
	if err != nil {
		return ""
	}
	c := h.cookie(csrfCookie, token, 0)
	c.SameSite = http.SameSiteStrictMode
	http.SetCookie(w, c)
	return token
}

// checkPost refuses changes from other sites: the browser's Sec-Fetch-Site or Origin must be this site, and the
// form must echo the caller's CSRF token (the session's, or the double-submit cookie's). Requests with an
// Authorization header carry their own credential and are not forgeable by a page.
func (h *Handler) checkPost(r *http.Request, v *viewer) error {
	if err := h.origin.Check(r); err != nil {
		return errs.E(errs.Forbidden, "this change came from another site, so it was refused")
	}
	if r.Header.Get("Authorization") != "" {
		return nil
	}
	presented := r.PostFormValue("_csrf")
	if v.SignedIn() {
		if err := auth.CheckCSRF(v.Principal, presented); err != nil {
			return errs.E(errs.Forbidden, "the form's security token is missing or out of date: reload the page and try again")
		}
		return nil
	}
	c, err := r.Cookie(csrfCookie)
	if err != nil || len(c.Value) < 32 || !constantTimeEqual(c.Value, presented) {
		return errs.E(errs.Forbidden, "the form's security token is missing or out of date: reload the page and try again")
	}
	return nil
}

func (h *Handler) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: h.opts.SecureCookies,
		SameSite: http.SameSiteLaxMode}
}

// redirectAfterChange answers a successful form post: back to a page on this site, with a one-time message.
func (h *Handler) redirectAfterChange(w http.ResponseWriter, r *http.Request, to, flash string) {
	if flash != "" {
		http.SetCookie(w, h.cookie(flashCookie, urlQueryEscape(flash), 60))
	}
	http.Redirect(w, r, auth.SafeReturnTo(to), http.StatusSeeOther)
}

// displayName looks the viewer up in the catalog.
func (h *Handler) displayName(p auth.Principal) (name, url string) {
	ref, err := catalog.ParseRef(p.Subject, catalog.RefDefaults{Kind: "user"})
	if err != nil {
		return p.Subject, ""
	}
	name = ref.Name
	if p.Guest {
		name = "Guest"
	}
	raw, ok := h.opts.Catalog.Index().Get(ref.String())
	if !ok {
		return name, ""
	}
	var u struct {
		Metadata struct {
			Title text `json:"title"`
		} `json:"metadata"`
		Spec struct {
			Profile struct {
				DisplayName text `json:"displayName"`
			} `json:"profile"`
		} `json:"spec"`
	}
	if json.Unmarshal(raw, &u) == nil {
		switch {
		case u.Spec.Profile.DisplayName != "":
			name = string(u.Spec.Profile.DisplayName)
		case u.Metadata.Title != "":
			name = string(u.Metadata.Title)
		}
	}
	return name, entityURL(ref.String())
}

// record writes a change made through the pages to the audit log, as the API's middleware does for its own.
func (h *Handler) record(r *http.Request, p auth.Principal, action, resource string, status int, before, after any) {
	if h.opts.Audit == nil {
		return
	}
	host := r.RemoteAddr
	if hst, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		host = hst
	}
	e := audit.Event{At: h.opts.Now(), Actor: p.Subject, Via: p.Via, Action: action, Method: r.Method, Path: r.URL.Path,
		Resource: resource, Status: status, Remote: host, Before: auditJSON(before), After: auditJSON(after)}
	if err := h.opts.Audit.RecordAudit(context.WithoutCancel(r.Context()), e); err != nil {
		h.opts.Log.Error("cannot record audit event", "action", action, "actor", p.Subject, "err", err)
	}
}

func auditJSON(v any) json.RawMessage {
	switch t := v.(type) {
	case nil:
		return nil
	case json.RawMessage:
		if len(t) == 0 {
			return nil
		}
		return t
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return nil
	}
	return b
}

// pageData is what every template receives.
type pageData struct {
	Title   string
	Section string
	Viewer  *viewer
	Version string
	Data    any
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render executes a page into a buffer first, so a template failure becomes a clean error page rather than half a
// page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) error {
	t, ok := h.pages[name]
	if !ok {
		return errs.E(errs.Internal, "no template %q", name)
	}
	d.Version = h.opts.Version
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := t.ExecuteTemplate(buf, "layout", d); err != nil {
		return errs.Wrap(errs.Internal, err, "cannot render the %s page", name)
	}
	writeHTML(w, r, status, buf.Bytes())
	return nil
}

// renderFragment executes one named template of a page alone, for the script that updates part of a page.
func (h *Handler) renderFragment(w http.ResponseWriter, r *http.Request, name, fragment string, data any) error {
	t, ok := h.pages[name]
	if !ok {
		return errs.E(errs.Internal, "no template %q", name)
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := t.ExecuteTemplate(buf, fragment, data); err != nil {
		return errs.Wrap(errs.Internal, err, "cannot render %s", fragment)
	}
	writeHTML(w, r, http.StatusOK, buf.Bytes())
	return nil
}

// contentSecurityPolicy allows the portal's own scripts and styles only: nothing inline, nothing from elsewhere,
// and no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func writeHTML(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
	if hd.Get("Cache-Control") == "" {
		// Pages show the viewer's own state (tokens, flags they may change); no shared cache may keep them.
		hd.Set("Cache-Control", "private, no-cache")
	}
	hd.Add("Vary", "Cookie")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// errorView is the error page's data.
type errorView struct {
	Status  int
	Heading string
	Message string
}

// renderError shows an error as a page with the status its code maps to; internal details are logged, not shown.
func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, v *viewer, err error) {
	code := errs.CodeOf(err)
	status := statusOf(code)
	ev := errorView{Status: status, Message: errs.MessageOf(err)}
	name := "error"
	switch code {
	case errs.Unauthenticated:
		name, ev.Heading = "signin", "Sign in to use the portal"
	case errs.Forbidden:
		ev.Heading = "Not allowed"
	case errs.NotFound:
		ev.Heading = "Not found"
	case errs.Invalid, errs.PreconditionFailed, errs.Conflict:
		ev.Heading = "That did not work"
	case errs.Unavailable, errs.NotImplemented:
		ev.Heading = "Not available"
	case errs.TooManyRequests:
		ev.Heading = "Slow down"
	default:
		h.opts.Log.Error("page failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ev.Heading, ev.Message = "Something went wrong", "The portal could not show this page. The error is logged; try again in a moment."
	}
	if v == nil {
		v = &viewer{Path: r.URL.RequestURI()}
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="portal"`)
	}
	if rerr := h.render(w, r, status, name, pageData{Title: ev.Heading, Viewer: v, Data: ev}); rerr != nil {
		h.opts.Log.Error("error page failed", "err", rerr)
		http.Error(w, ev.Message, status)
	}
}

// statusOf maps an errs code to an HTTP status.
func statusOf(code errs.Code) int { return errs.HTTPStatus(code) }

// parsePages builds one template set per page: the layout and shared partials, plus the page's own file.
func (h *Handler) parsePages() (map[string]*template.Template, error) {
	base, err := template.New("base").Funcs(h.funcs()).ParseFS(templateFS, "templates/_*.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "templates/"), ".html")
		if strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}
