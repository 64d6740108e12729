package github

import (
	"context"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v60/github"
	"golang.org/x/oauth2"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/errs"
)

// SignInConfig names a GitHub OAuth app and the host it lives on.
type SignInConfig struct {
	ClientID     string
	ClientSecret string
	// WebBaseURL is where people authorize ("https://github.com" or a GitHub Enterprise host).
	WebBaseURL string
	// APIBaseURL is the REST API ("https://api.github.com/" or an Enterprise URL).
	APIBaseURL  string
	RedirectURL string
	// HTTPClient, when set, carries the token exchange and API calls (tests point it at loopback).
	HTTPClient *http.Client
}

// SignIn implements auth.IdentityProvider with GitHub's OAuth web flow (authorization code + PKCE).
type SignIn struct {
	conf   *oauth2.Config
	cfg    SignInConfig
	client *http.Client
}

var _ auth.IdentityProvider = (*SignIn)(nil)

// NewSignIn asks for read:user and read:org, enough to read the profile, organizations and teams.
func NewSignIn(cfg SignInConfig) *SignIn {
	web := strings.TrimSuffix(cfg.WebBaseURL, "/")
	if web == "" {
		web = "https://github.com"
	}
	client := cfg.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	return &SignIn{cfg: cfg, client: client, conf: &oauth2.Config{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
		Scopes:   []string{"read:user", "read:org"},
		Endpoint: oauth2.Endpoint{AuthURL: web + "/login/oauth/authorize", TokenURL: web + "/login/oauth/access_token", AuthStyle: oauth2.AuthStyleInParams},
	}}
}

// AuthCodeURL implements auth.IdentityProvider.
func (s *SignIn) AuthCodeURL(state, verifier string) string {
	return s.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
}

// Exchange implements auth.IdentityProvider. The access token is used for these reads only and never stored.
func (s *SignIn) Exchange(ctx context.Context, code, verifier string) (auth.ExternalIdentity, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.client)
	tok, err := s.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		// oauth2's error text can quote the response body; say what failed without it.
		return auth.ExternalIdentity{}, errs.Wrap(errs.Unauthenticated, err, "GitHub refused the sign-in code; start the sign-in again")
	}
	c, err := NewClient(s.cfg.APIBaseURL, tok.AccessToken, s.client)
	if err != nil {
		return auth.ExternalIdentity{}, err
	}
	user, _, err := c.gh.Users.Get(ctx, "")
	if err != nil {
		return auth.ExternalIdentity{}, errs.Wrap(errs.Unavailable, err, "cannot read the GitHub profile from %s", c.api)
	}
	id := auth.ExternalIdentity{Login: user.GetLogin(), Name: user.GetName(), Email: user.GetEmail()}
	opts := &gh.ListOptions{PerPage: 100}
	for {
		orgs, resp, err := c.gh.Organizations.List(ctx, "", opts)
		if err != nil {
			return auth.ExternalIdentity{}, errs.Wrap(errs.Unavailable, err, "cannot read GitHub organizations from %s", c.api)
		}
		for _, o := range orgs {
			id.Organizations = append(id.Organizations, o.GetLogin())
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	opts = &gh.ListOptions{PerPage: 100}
	for {
		teams, resp, err := c.gh.Teams.ListUserTeams(ctx, opts)
		if err != nil {
			return auth.ExternalIdentity{}, errs.Wrap(errs.Unavailable, err, "cannot read GitHub teams from %s", c.api)
		}
		for _, t := range teams {
			id.Teams = append(id.Teams, t.GetOrganization().GetLogin()+"/"+t.GetSlug())
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return id, nil
}
