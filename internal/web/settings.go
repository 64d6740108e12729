package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
)

type settingsView struct {
	Subject   refLink
	Kind      string
	Via       string
	Admin     bool
	Ownership []refLink
	Scopes    []string
	// Tokens lists the viewer's personal access tokens; CanList and CanCreate say what the viewer may do.
	Tokens    []tokenRow
	CanList   bool
	CanCreate bool
	Why       string
	AllScopes []scopeOption
	Lifetimes []int
	Form      tokenForm
	// NewToken is the token just created, shown this once.
	NewToken *newToken
	Problem  string
}

type tokenRow struct {
	ID        string
	Name      string
	Scopes    string
	CreatedAt time.Time
	ExpiresAt time.Time
	LastUsed  *time.Time
	Revoked   bool
	Expired   bool
}

type scopeOption struct {
	Scope   string
	Checked bool
}

type tokenForm struct {
	Name string
	Days int
}

type newToken struct {
	Name   string
	Secret string
}

var tokenLifetimes = []int{7, 30, 90, 180, 366}

func (h *Handler) settingsView(r *http.Request, v *viewer) (*settingsView, error) {
	p := v.Principal
	sv := &settingsView{Subject: linkTo(strings.ToLower(p.Subject), catalog.DefaultNamespace), Kind: string(p.Kind), Via: p.Via, Admin: p.Admin,
		Lifetimes: tokenLifetimes, Form: tokenForm{Days: 30}}
	if _, err := catalog.ParseCanonicalRef(strings.ToLower(p.Subject)); err != nil {
		sv.Subject = refLink{Label: p.Subject}
	}
	for _, o := range p.Ownership {
		if !strings.EqualFold(o, p.Subject) {
			sv.Ownership = append(sv.Ownership, linkTo(o, catalog.DefaultNamespace))
		}
	}
	for _, s := range auth.ScopesOf(p) {
		sv.Scopes = append(sv.Scopes, string(s))
	}
	for _, s := range auth.AllScopes {
		sv.AllScopes = append(sv.AllScopes, scopeOption{Scope: string(s), Checked: s == auth.ScopeCatalogRead})
	}
	if err := auth.Decide(p, auth.TokenManage, auth.Resource{}); err != nil {
		sv.Why = "Personal access tokens belong to people: sign in to make one."
		return sv, nil
	}
	sv.CanList = true
	sv.CanCreate = p.Via == "session"
	if !sv.CanCreate {
		sv.Why = "Tokens are created from a signed-in browser session, not with another token."
	}
	list, err := h.opts.Auth.ListAccessTokens(r.Context(), p)
	if err != nil {
		return nil, err
	}
	now := h.opts.Now()
	for _, t := range list {
		names := make([]string, len(t.Scopes))
		for i, s := range t.Scopes {
			names[i] = string(s)
		}
		sv.Tokens = append(sv.Tokens, tokenRow{ID: t.ID, Name: t.Name, Scopes: strings.Join(names, ", "), CreatedAt: t.CreatedAt,
			ExpiresAt: t.ExpiresAt, LastUsed: t.LastUsedAt, Revoked: t.RevokedAt != nil, Expired: !now.Before(t.ExpiresAt)})
	}
	return sv, nil
}

func (h *Handler) settings(w http.ResponseWriter, r *http.Request, v *viewer) error {
	sv, err := h.settingsView(r, v)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "settings", pageData{Title: "Settings", Section: "settings", Viewer: v, Data: sv})
}

// tokenCreate makes a personal access token and shows it on the answer to the form, once: it is never put in a
// URL or a cookie, and the answer may not be cached.
func (h *Handler) tokenCreate(w http.ResponseWriter, r *http.Request, v *viewer) error {
	days, _ := strconv.Atoi(r.PostFormValue("expiresInDays"))
	name := strings.TrimSpace(r.PostFormValue("name"))
	scopes := r.PostForm["scope"]
	t, secret, err := h.opts.Auth.CreateAccessToken(r.Context(), v.Principal, auth.NewAccessTokenRequest{
		Name: name, Scopes: scopes, ExpiresIn: time.Duration(days) * 24 * time.Hour})
	sv, verr := h.settingsView(r, v)
	if verr != nil {
		return verr
	}
	if err != nil {
		if !errs.Is(err, errs.Invalid) {
			return err
		}
		sv.Problem = errs.MessageOf(err)
		sv.Form = tokenForm{Name: name, Days: days}
		for i := range sv.AllScopes {
			sv.AllScopes[i].Checked = slices.Contains(scopes, sv.AllScopes[i].Scope)
		}
		return h.render(w, r, http.StatusUnprocessableEntity, "settings", pageData{Title: "Settings", Section: "settings", Viewer: v, Data: sv})
	}
	h.record(r, v.Principal, "createAccessToken", "token:"+t.ID, http.StatusCreated, nil, t)
	sv.NewToken = &newToken{Name: t.Name, Secret: secret}
	w.Header().Set("Cache-Control", "no-store")
	return h.render(w, r, http.StatusCreated, "settings", pageData{Title: "Token created", Section: "settings", Viewer: v, Data: sv})
}

func (h *Handler) tokenRevoke(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	if err := h.opts.Auth.RevokeAccessToken(r.Context(), v.Principal, id); err != nil {
		return err
	}
	h.record(r, v.Principal, "revokeAccessToken", "token:"+id, http.StatusNoContent, nil, nil)
	h.redirectAfterChange(w, r, "/settings", "Revoked token "+id+": it no longer works.")
	return nil
}

// signOut ends the browser session and clears its cookie.
func (h *Handler) signOut(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if err := h.opts.Auth.EndSession(r.Context(), v.Principal); err != nil {
		return err
	}
	http.SetCookie(w, h.cookie(h.opts.SessionCookie, "", -1))
	h.redirectAfterChange(w, r, "/", "You are signed out.")
	return nil
}
