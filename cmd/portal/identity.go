package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/catalog/service"
	"github.com/billpay/portal/internal/github"
)

// identity builds the authenticator and, when a GitHub OAuth app is configured, people's sign-in.
func (m *Main) identity(ctx context.Context) (*auth.Authenticator, *auth.SignInFlow, error) {
	cfg := m.Config.Auth
	tokens := make([]auth.StaticToken, len(cfg.Tokens))
	for i, t := range cfg.Tokens {
		tokens[i] = auth.StaticToken{Token: t.Token, Subject: t.Subject, Admin: t.Admin}
		if len(t.Scopes) > 0 {
			scopes, err := auth.ParseScopes(t.Scopes)
			if err != nil {
				return nil, nil, fmt.Errorf("config: auth.tokens[%d].scopes: %v", i, err)
			}
			tokens[i].Scopes = scopes
		}
	}
	var secrets []auth.BackstageSecret
	for _, b := range cfg.BackstageTokens {
		raw, _ := base64.StdEncoding.DecodeString(b.Secret) // validated with the config
		secrets = append(secrets, auth.BackstageSecret{Secret: raw, Subject: b.Subject})
	}
	authn := auth.New(auth.Options{
		Tokens: tokens, Guest: cfg.Guest, GuestAdmin: cfg.GuestAdmin, AdminGroups: lowerAll(cfg.AdminGroups),
		BackstageSecrets: secrets, Store: m.Store, Ownership: m.Catalog,
	})
	if cfg.GitHub.ClientID == "" {
		return authn, nil, nil
	}
	// Every replica signs and checks the sign-in state cookie with the same key.
	key, err := m.Store.Setting(ctx, "auth.signin-key", func() (string, error) {
		secret, err := auth.RandomSecret()
		if err != nil {
			return "", err
		}
		return hex.EncodeToString([]byte(secret)), nil
	})
	if err != nil {
		return nil, nil, err
	}
	provider := github.NewSignIn(github.SignInConfig{
		ClientID: cfg.GitHub.ClientID, ClientSecret: cfg.GitHub.ClientSecret,
		WebBaseURL: cfg.GitHub.WebBaseURL, APIBaseURL: cfg.GitHub.APIBaseURL,
		RedirectURL: strings.TrimSuffix(m.Config.BaseURL, "/") + "/api/auth/github/callback",
	})
	flow := auth.NewSignInFlow(auth.SignInConfig{
		Provider: provider, Users: service.GitHubUsers{Catalog: m.Catalog, MatchName: cfg.GitHub.Resolver == "annotationOrName"},
		AllowedOrganizations: cfg.GitHub.AllowedOrganizations, SessionLifetime: time.Duration(cfg.SessionLifetime), Key: []byte(key),
	}, authn)
	return authn, flow, nil
}

func lowerAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ToLower(s)
	}
	return out
}
