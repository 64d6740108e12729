package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/billpay/portal/internal/audit"
	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/errs"
)

const identityTag = "Identity"

type meDoc struct {
	auth.Principal
	Scopes []auth.Scope `json:"scopes"`
	// CSRFToken must accompany cookie-authenticated changes in the X-CSRF-Token header.
	CSRFToken string `json:"csrfToken,omitempty"`
	SignInURL string `json:"signInUrl,omitempty" doc:"Where to send a person to sign in, when GitHub sign-in is configured"`
}

type redirectOutput struct {
	Status    int
	Location  string        `header:"Location"`
	SetCookie []http.Cookie `header:"Set-Cookie"`
	Cache     string        `header:"Cache-Control"`
}

type tokenDoc struct {
	auth.AccessToken
	// Token is shown once, in the response that creates it.
	Token string `json:"token,omitempty"`
}

func (s *Server) identityOp(id, method, path, summary string) huma.Operation {
	return huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{identityTag},
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden}, Security: []map[string][]string{{"bearer": {}}, {"session": {}}}}
}

func (s *Server) registerIdentity() {
	s.api.OpenAPI().Components.SecuritySchemes["session"] = &huma.SecurityScheme{Type: "apiKey", In: "cookie", Name: SessionCookie,
		Description: "A browser session from GitHub sign-in; changes also need the X-CSRF-Token header."}
	huma.Register(s.api, s.identityOp("getMe", http.MethodGet, "/api/auth/me", "Who am I"),
		func(ctx context.Context, _ *struct{}) (*struct{ Body meDoc }, error) {
			p, _ := PrincipalFrom(ctx)
			out := &struct{ Body meDoc }{Body: meDoc{Principal: p, Scopes: auth.ScopesOf(p), CSRFToken: p.CSRF}}
			if s.opts.SignIn != nil {
				out.Body.SignInURL = "/api/auth/github/start"
			}
			return out, nil
		})
	signOut := s.identityOp("signOut", http.MethodPost, "/api/auth/signout", "Sign out")
	signOut.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, signOut, func(ctx context.Context, _ *struct{}) (*struct {
		SetCookie http.Cookie `header:"Set-Cookie"`
	}, error) {
		p, _ := PrincipalFrom(ctx)
		if err := s.opts.Auth.EndSession(ctx, p); err != nil {
			return nil, portalErr(err)
		}
		return &struct {
			SetCookie http.Cookie `header:"Set-Cookie"`
		}{SetCookie: s.cookie(SessionCookie, "", -1)}, nil
	})
	if s.opts.SignIn != nil {
		public := map[string]any{publicOp: true}
		start := s.identityOp("githubSignIn", http.MethodGet, "/api/auth/github/start", "Sign in with GitHub")
		start.Metadata, start.DefaultStatus = public, http.StatusFound
		huma.Register(s.api, start, func(ctx context.Context, in *struct {
			ReturnTo string `query:"returnTo" doc:"A path on this portal to return to"`
		}) (*redirectOutput, error) {
			to, cookie, err := s.opts.SignIn.Begin(in.ReturnTo)
			if err != nil {
				return nil, portalErr(err)
			}
			return &redirectOutput{Status: http.StatusFound, Location: to, Cache: "no-store",
				SetCookie: []http.Cookie{s.cookie(signInCookie, cookie, 600)}}, nil
		})
		callback := s.identityOp("githubSignInCallback", http.MethodGet, "/api/auth/github/callback", "GitHub sign-in callback")
		callback.Metadata, callback.DefaultStatus = public, http.StatusFound
		huma.Register(s.api, callback, func(ctx context.Context, in *struct {
			Code   string      `query:"code"`
			State  string      `query:"state"`
			Error  string      `query:"error" doc:"Set by GitHub when the person declined"`
			Cookie http.Cookie `cookie:"portal_signin"`
		}) (*redirectOutput, error) {
			if in.Error != "" {
				return nil, huma.Error401Unauthorized("GitHub sign-in was not completed: " + in.Error)
			}
			// Failed sign-ins count against the address like failed tokens, so codes and states cannot be
			// tried at speed.
			addr := remoteAddrFrom(ctx)
			if blocked, _ := s.failures.Exhausted(addr); blocked {
				return nil, huma.Error429TooManyRequests("too many failed sign-in attempts from this address; try again later")
			}
			done, err := s.opts.SignIn.Finish(ctx, in.Code, in.State, in.Cookie.Value)
			if err != nil {
				if errs.Is(err, errs.Unauthenticated) {
					s.failures.Allow(addr)
				}
				return nil, portalErr(err)
			}
			lifetime := int(time.Until(done.Session.ExpiresAt).Seconds())
			return &redirectOutput{Status: http.StatusFound, Location: done.ReturnTo, Cache: "no-store", SetCookie: []http.Cookie{
				s.cookie(signInCookie, "", -1), s.cookie(SessionCookie, done.Cookie, lifetime)}}, nil
		})
	}
	huma.Register(s.api, s.identityOp("listAccessTokens", http.MethodGet, "/api/auth/tokens", "List my personal access tokens"),
		func(ctx context.Context, _ *struct{}) (*struct {
			Body struct{ Items []auth.AccessToken }
		}, error) {
			p, _ := PrincipalFrom(ctx)
			list, err := s.opts.Auth.ListAccessTokens(ctx, p)
			if err != nil {
				return nil, portalErr(err)
			}
			out := &struct {
				Body struct{ Items []auth.AccessToken }
			}{}
			out.Body.Items = list
			return out, nil
		})
	create := s.identityOp("createAccessToken", http.MethodPost, "/api/auth/tokens", "Create a personal access token")
	create.DefaultStatus = http.StatusCreated
	create.Description = "The token is in this response only; Portal keeps a hash. Tokens are created from a signed-in session."
	huma.Register(s.api, create, func(ctx context.Context, in *struct {
		Body struct {
			Name          string   `json:"name" example:"ci for payment-service"`
			Scopes        []string `json:"scopes" example:"[\"catalog:read\",\"flags:write\"]"`
			ExpiresInDays int      `json:"expiresInDays" minimum:"1" maximum:"366" default:"30"`
		}
	}) (*struct{ Body tokenDoc }, error) {
		p, _ := PrincipalFrom(ctx)
		t, secret, err := s.opts.Auth.CreateAccessToken(ctx, p, auth.NewAccessTokenRequest{
			Name: in.Body.Name, Scopes: in.Body.Scopes, ExpiresIn: time.Duration(in.Body.ExpiresInDays) * 24 * time.Hour})
		if err != nil {
			return nil, portalErr(err)
		}
		audit.Describe(ctx, "token:"+t.ID, nil, t)
		return &struct{ Body tokenDoc }{Body: tokenDoc{AccessToken: t, Token: secret}}, nil
	})
	revoke := s.identityOp("revokeAccessToken", http.MethodDelete, "/api/auth/tokens/{id}", "Revoke a personal access token")
	revoke.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, revoke, func(ctx context.Context, in *struct {
		ID string `path:"id"`
	}) (*struct{}, error) {
		p, _ := PrincipalFrom(ctx)
		if err := s.opts.Auth.RevokeAccessToken(ctx, p, in.ID); err != nil {
			return nil, portalErr(err)
		}
		audit.Describe(ctx, "token:"+in.ID, nil, nil)
		return &struct{}{}, nil
	})
	if s.opts.Audit != nil {
		huma.Register(s.api, s.identityOp("listAuditEvents", http.MethodGet, "/api/audit", "Read the audit log"),
			func(ctx context.Context, in *struct {
				Actor    string    `query:"actor" doc:"Only this principal's changes" example:"user:default/lucia.fernandez"`
				Action   string    `query:"action" doc:"Only this operation" example:"putFlag"`
				Resource string    `query:"resource" doc:"Only changes to this entity, flag or token" example:"flag:production/new-checkout-flow"`
				Since    time.Time `query:"since" doc:"Only changes at or after this time (RFC 3339)"`
				Before   int64     `query:"before" minimum:"0" doc:"Only entries older than this ID (paging)"`
				Limit    int       `query:"limit" minimum:"1" maximum:"1000" default:"100"`
			}) (*struct {
				Body struct {
					Items []audit.Event `json:"items"`
					Next  string        `json:"next,omitempty"`
				}
			}, error) {
				p, _ := PrincipalFrom(ctx)
				if err := auth.Decide(p, auth.AuditRead, auth.Resource{}); err != nil {
					return nil, portalErr(err)
				}
				items, err := s.opts.Audit.ListAudit(ctx, audit.Query{Actor: in.Actor, Action: in.Action, Resource: in.Resource,
					Since: in.Since, BeforeID: in.Before, Limit: in.Limit})
				if err != nil {
					return nil, portalErr(err)
				}
				out := &struct {
					Body struct {
						Items []audit.Event `json:"items"`
						Next  string        `json:"next,omitempty"`
					}
				}{}
				out.Body.Items = items
				if len(items) == in.Limit && len(items) > 0 {
					out.Body.Next = strconv.FormatInt(items[len(items)-1].ID, 10)
				}
				return out, nil
			})
	}
}

func (s *Server) cookie(name, value string, maxAge int) http.Cookie {
	return http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: s.secureCookies(),
		SameSite: http.SameSiteLaxMode}
}
