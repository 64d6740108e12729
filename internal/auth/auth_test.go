package auth

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/errs"
)

func TestAuthenticate(t *testing.T) {
	tokens := []StaticToken{{Token: "ci-token-0123456789", Subject: "ci"}, {Token: "ops-token-0123456789", Subject: "ops", Admin: true}}

	t.Run("a configured token resolves to its subject", func(t *testing.T) {
		p, err := NewAuthenticator(tokens, false).Authenticate("Bearer ops-token-0123456789")
		require.NoError(t, err)
		require.Equal(t, "ops", p.Subject)
		require.Equal(t, KindService, p.Kind)
		require.Equal(t, "static", p.Via)
		require.True(t, p.Admin)
		require.Nil(t, p.Scopes, "static tokens are not scope-limited unless configured")
	})

	t.Run("the scheme is case-insensitive", func(t *testing.T) {
		p, err := NewAuthenticator(tokens, false).Authenticate("bearer ci-token-0123456789")
		require.NoError(t, err)
		require.Equal(t, "ci", p.Subject)
		require.False(t, p.Admin)
	})

	t.Run("no header is refused without guest access", func(t *testing.T) {
		_, err := NewAuthenticator(tokens, false).Authenticate("")
		require.True(t, errs.Is(err, errs.Unauthenticated))
	})

	t.Run("no header is the guest with guest access", func(t *testing.T) {
		p, err := NewAuthenticator(tokens, true).Authenticate("")
		require.NoError(t, err)
		require.Equal(t, GuestRef, p.Subject)
		require.True(t, p.Guest)
		require.False(t, p.Admin)
		p, err = New(Options{Guest: true, GuestAdmin: true}).Authenticate("")
		require.NoError(t, err)
		require.True(t, p.Admin, "guestAdmin makes the local developer an admin")
	})

	for name, header := range map[string]string{
		"an unknown token":       "Bearer nope-nope-nope-nope",
		"another scheme":         "Basic Y2k6dG9rZW4=",
		"a bearer with no token": "Bearer ",
		"a token without scheme": "ci-token-0123456789",
	} {
		t.Run(name+" is refused even with guest access", func(t *testing.T) {
			_, err := NewAuthenticator(tokens, true).Authenticate(header)
			require.True(t, errs.Is(err, errs.Unauthenticated))
			require.NotContains(t, err.Error(), "0123456789", "errors never echo a token")
		})
	}
}

// memStore is an in-memory Store for the authenticator's own tests; the database implementation is tested
// with the storage suite.
type memStore struct {
	mu       sync.Mutex
	sessions map[string]Session
	tokens   map[string]AccessToken // by hash
}

func newMemStore() *memStore {
	return &memStore{sessions: map[string]Session{}, tokens: map[string]AccessToken{}}
}

func (m *memStore) CreateSession(_ context.Context, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[s.ID] = s
	return nil
}

func (m *memStore) FindSession(_ context.Context, id string, now time.Time) (Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok || !now.Before(s.ExpiresAt) {
		return Session{}, errs.E(errs.NotFound, "no session")
	}
	return s, nil
}

func (m *memStore) DeleteSession(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, id)
	return nil
}

func (m *memStore) CreateAccessToken(_ context.Context, t AccessToken, hash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t.hash = hash
	m.tokens[hash] = t
	return nil
}

func (m *memStore) FindAccessToken(_ context.Context, hash string) (AccessToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[hash]
	if !ok {
		return AccessToken{}, errs.E(errs.NotFound, "no token")
	}
	return t, nil
}

func (m *memStore) GetAccessToken(_ context.Context, id string) (AccessToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.tokens {
		if t.ID == id {
			return t, nil
		}
	}
	return AccessToken{}, errs.E(errs.NotFound, "No token %s", id)
}

func (m *memStore) TouchAccessToken(context.Context, string, time.Time) error { return nil }

func (m *memStore) ListAccessTokens(_ context.Context, owner string) ([]AccessToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []AccessToken
	for _, t := range m.tokens {
		if t.Owner == owner {
			out = append(out, t)
		}
	}
	return out, nil
}

func (m *memStore) RevokeAccessToken(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for h, t := range m.tokens {
		if t.ID == id {
			t.RevokedAt = &at
			m.tokens[h] = t
		}
	}
	return nil
}

type orgChart map[string][]string

func (o orgChart) Ownership(user string) []string { return append([]string{user}, o[user]...) }

func TestSessionsAndPersonalTokens(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store := newMemStore()
	a := New(Options{Store: store, Now: clock, AdminGroups: []string{"group:default/platform-team"},
		Ownership: orgChart{"user:default/ana": {"group:default/payments-team"}, "user:default/root": {"group:default/platform-team"}}})

	cookie, sess, err := a.StartSession(ctx, "user:default/ana", "ana", time.Hour)
	require.NoError(t, err)
	require.NotContains(t, sess.ID, cookie, "only a hash of the cookie is stored")
	p, err := a.AuthenticateRequest(ctx, Credentials{Session: cookie})
	require.NoError(t, err)
	require.Equal(t, "user:default/ana", p.Subject)
	require.Equal(t, "session", p.Via)
	require.True(t, p.Owns("group:default/payments-team"))
	require.False(t, p.Admin)
	require.Error(t, CheckCSRF(p, ""), "cookie-authenticated changes need the CSRF token")
	require.Error(t, CheckCSRF(p, "guess"))
	require.NoError(t, CheckCSRF(p, sess.CSRF))

	tok, secret, err := a.CreateAccessToken(ctx, p, NewAccessTokenRequest{Name: "ci", Scopes: []string{"catalog:read"}, ExpiresIn: 24 * time.Hour})
	require.NoError(t, err)
	require.Regexp(t, `^pat_[A-Za-z0-9_-]{43}$`, secret)
	tp, err := a.Authenticate("Bearer " + secret)
	require.NoError(t, err)
	require.Equal(t, []Scope{ScopeCatalogRead}, tp.Scopes)
	require.Equal(t, tok.ID, tp.TokenID)
	require.NoError(t, CheckCSRF(tp, ""), "bearer tokens are not subject to CSRF")
	require.True(t, errs.Is(Decide(tp, CatalogLocationWrite, Resource{}), errs.Forbidden), "read-only token")

	_, _, err = a.CreateAccessToken(ctx, tp, NewAccessTokenRequest{Name: "x", Scopes: []string{"catalog:read"}, ExpiresIn: time.Hour})
	require.True(t, errs.Is(err, errs.Forbidden), "a token cannot mint tokens")
	_, _, err = a.CreateAccessToken(ctx, p, NewAccessTokenRequest{Name: "x", Scopes: []string{"root"}, ExpiresIn: time.Hour})
	require.True(t, errs.Is(err, errs.Invalid))
	_, _, err = a.CreateAccessToken(ctx, p, NewAccessTokenRequest{Name: "x", Scopes: []string{"catalog:read"}, ExpiresIn: 400 * 24 * time.Hour})
	require.True(t, errs.Is(err, errs.Invalid), "no token lives forever")

	now = now.Add(25 * time.Hour)
	_, err = a.Authenticate("Bearer " + secret)
	require.True(t, errs.Is(err, errs.Unauthenticated), "expired")
	require.Contains(t, err.Error(), "expired")
	_, err = a.AuthenticateRequest(ctx, Credentials{Session: cookie})
	require.True(t, errs.Is(err, errs.Unauthenticated), "the session expired too, and guest access is off")

	cookie, _, err = a.StartSession(ctx, "user:default/ana", "ana", time.Hour)
	require.NoError(t, err)
	p, err = a.AuthenticateRequest(ctx, Credentials{Session: cookie})
	require.NoError(t, err)
	_, secret, err = a.CreateAccessToken(ctx, p, NewAccessTokenRequest{Name: "deploys", Scopes: []string{"deploy:run"}, ExpiresIn: time.Hour})
	require.NoError(t, err)
	list, err := a.ListAccessTokens(ctx, p)
	require.NoError(t, err)
	require.Len(t, list, 2)
	other, err := a.AuthenticateRequest(ctx, Credentials{Session: mustSession(t, a, "user:default/bob")})
	require.NoError(t, err)
	var deployID string
	for _, t := range list {
		if t.Name == "deploys" {
			deployID = t.ID
		}
	}
	require.True(t, errs.Is(a.RevokeAccessToken(ctx, other, deployID), errs.NotFound), "someone else's token is invisible")
	root, err := a.AuthenticateRequest(ctx, Credentials{Session: mustSession(t, a, "user:default/root")})
	require.NoError(t, err)
	require.True(t, root.Admin, "a member of an admin group")
	require.NoError(t, a.RevokeAccessToken(ctx, root, deployID), "admins revoke anyone's token")
	_, err = a.Authenticate("Bearer " + secret)
	require.ErrorContains(t, err, "revoked")

	require.NoError(t, a.EndSession(ctx, p))
	_, err = a.AuthenticateRequest(ctx, Credentials{Session: cookie})
	require.True(t, errs.Is(err, errs.Unauthenticated), "signed out")
}

func mustSession(t *testing.T, a *Authenticator, user string) string {
	cookie, _, err := a.StartSession(context.Background(), user, "", time.Hour)
	require.NoError(t, err)
	return cookie
}

func TestBackstageServiceTokens(t *testing.T) {
	secret := []byte("backstage-shared-secret-0123456789")
	a := New(Options{BackstageSecrets: []BackstageSecret{{Secret: secret, Subject: "backstage-server"}}})
	sign := func(key []byte, exp time.Time, method jwt.SigningMethod) string {
		tok, err := jwt.NewWithClaims(method, jwt.RegisteredClaims{Subject: "backstage-server", ExpiresAt: jwt.NewNumericDate(exp)}).SignedString(key)
		require.NoError(t, err)
		return tok
	}
	good := sign(secret, time.Now().Add(time.Hour), jwt.SigningMethodHS256)
	p, err := a.AuthenticateRequest(context.Background(), Credentials{Authorization: "Bearer " + good, BackstageRoute: true})
	require.NoError(t, err)
	require.Equal(t, "backstage", p.Via)
	require.Equal(t, "backstage-server", p.Subject)

	_, err = a.AuthenticateRequest(context.Background(), Credentials{Authorization: "Bearer " + good})
	require.Error(t, err, "only on Backstage routes")
	for name, tok := range map[string]string{
		"expired":        sign(secret, time.Now().Add(-time.Minute), jwt.SigningMethodHS256),
		"another secret": sign([]byte("another-secret-0123456789abcdef"), time.Now().Add(time.Hour), jwt.SigningMethodHS256),
		"another alg":    sign(secret, time.Now().Add(time.Hour), jwt.SigningMethodHS512),
	} {
		_, err := a.AuthenticateRequest(context.Background(), Credentials{Authorization: "Bearer " + tok, BackstageRoute: true})
		require.True(t, errs.Is(err, errs.Unauthenticated), name)
	}
}

func TestSafeReturnTo(t *testing.T) {
	for in, want := range map[string]string{
		"/catalog?x=1": "/catalog?x=1", "": "/", "https://evil.example/": "/", "//evil.example/": "/",
		"/\\evil.example": "/", "javascript:alert(1)": "/", "/a\r\nSet-Cookie: x": "/",
	} {
		require.Equal(t, want, SafeReturnTo(in), in)
	}
}

// TestActAs rebuilds the principal of someone who started work earlier, with what they are now.
func TestActAs(t *testing.T) {
	chart := orgChart{"user:default/ana": {"group:default/payments-team"}, "user:default/root": {"group:default/platform-team"}}
	a := New(Options{Guest: true, AdminGroups: []string{"group:default/platform-team"}, Ownership: chart,
		Tokens: []StaticToken{{Token: "ci-secret", Subject: "service:ci", Scopes: []Scope{ScopeCatalogWrite}}}})

	ana, err := a.ActAs("user:default/ana")
	require.NoError(t, err)
	require.Equal(t, KindUser, ana.Kind)
	require.True(t, ana.Owns("group:default/payments-team"))
	require.False(t, ana.Admin)
	root, err := a.ActAs("user:default/root")
	require.NoError(t, err)
	require.True(t, root.Admin, "admin standing comes from current membership")

	chart["user:default/ana"] = nil
	ana, err = a.ActAs("user:default/ana")
	require.NoError(t, err)
	require.False(t, ana.Owns("group:default/payments-team"), "someone who left a team no longer acts for it")

	ci, err := a.ActAs("service:ci")
	require.NoError(t, err)
	require.Equal(t, KindService, ci.Kind)
	require.Equal(t, []Scope{ScopeCatalogWrite}, ci.Scopes, "a static token's subject keeps its token's scopes")
	require.Error(t, Decide(ci, DeployRun, Resource{Owner: "service:ci"}))

	guest, err := a.ActAs(GuestRef)
	require.NoError(t, err)
	require.True(t, guest.Guest)

	_, err = a.ActAs("service:removed")
	require.True(t, errs.Is(err, errs.Unauthenticated), "%v", err)
	_, err = a.ActAs("")
	require.True(t, errs.Is(err, errs.Unauthenticated), "%v", err)
	_, err = New(Options{}).ActAs(GuestRef)
	require.True(t, errs.Is(err, errs.Unauthenticated), "work a guest started stops when guest access is off: %v", err)
}

func TestCheckScope(t *testing.T) {
	scoped := Principal{Subject: "user:default/ana", Kind: KindUser, Scopes: []Scope{ScopeScaffolderRun}}
	require.NoError(t, CheckScope(scoped, TemplateRun))
	err := CheckScope(scoped, DeployRun)
	require.True(t, errs.Is(err, errs.Forbidden), "%v", err)
	require.Contains(t, errs.MessageOf(err), "deploy:run scope")
	require.NoError(t, CheckScope(Principal{Subject: "user:default/ana", Kind: KindUser}, DeployRun), "unscoped credentials pass")
}
