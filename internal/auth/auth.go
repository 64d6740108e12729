// Package auth decides who a caller is and what they may do. It holds no HTTP or storage code: the HTTP layer
// hands it the presented credentials and acts on the Principal it returns; storage sits behind Store.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/billpay/portal/internal/errs"
)

// Kind tells people from automation and guests.
type Kind string

const (
	KindUser    Kind = "user"
	KindService Kind = "service"
	KindGuest   Kind = "guest"
)

// Principal is an authenticated caller.
type Principal struct {
	// Subject is the user entity ref for people and guests, or the configured subject of a static token.
	Subject string `json:"subject"`
	Kind    Kind   `json:"kind"`
	// Guest is set for callers let in by guest access.
	Guest bool `json:"guest,omitempty"`
	// Via says how the caller proved who it is: "session", "token" (personal access), "static", "backstage"
	// (a Backstage service token) or "guest".
	Via string `json:"via"`
	// Scopes limit a personal access token; nil means unlimited.
	Scopes []Scope `json:"scopes,omitempty"`
	// Ownership lists the refs the principal acts for: its user entity and every group it belongs to,
	// transitively through parent groups.
	Ownership []string `json:"ownership"`
	// Admin is set for members of a configured admin group and for admin static tokens.
	Admin bool `json:"admin"`
	// TokenID names the personal access token used, for audit and revocation.
	TokenID string `json:"tokenId,omitempty"`
	// SessionID is the hashed session, for sign-out; CSRF is what cookie-authenticated mutations must echo.
	SessionID string `json:"-"`
	CSRF      string `json:"-"`
}

// Owns reports whether the principal acts for ref (compared case-insensitively, as entity refs are).
func (p Principal) Owns(ref string) bool {
	if ref == "" {
		return false
	}
	for _, r := range p.Ownership {
		if strings.EqualFold(r, ref) {
			return true
		}
	}
	return false
}

// GuestRef is the user entity guests act as.
const GuestRef = "user:default/guest"

// GuestPrincipal is who an unauthenticated caller is when guest access is on.
var GuestPrincipal = Principal{Subject: GuestRef, Kind: KindGuest, Guest: true, Via: "guest", Ownership: []string{GuestRef}}

// StaticToken is a configured bearer token. A Subject that is an entity ref ("user:default/ci-bot",
// "group:default/platform-team") gives the token that entity's ownership.
type StaticToken struct {
	Token   string
	Subject string
	Admin   bool
	Scopes  []Scope
}

// BackstageSecret verifies Backstage's legacy service-to-service tokens (HS256 JWTs signed with a shared,
// base64-encoded secret), so Backstage backends and plugins can call the Backstage-compatible routes.
type BackstageSecret struct {
	Secret  []byte
	Subject string
}

// OwnershipResolver expands a user entity ref into every ref it acts for (its groups, transitively).
type OwnershipResolver interface {
	Ownership(userRef string) []string
}

// Session is a signed-in person's browser session.
type Session struct {
	ID        string // hex SHA-256 of the cookie value
	UserRef   string
	Login     string
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// AccessToken is a personal access token's stored record.
type AccessToken struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Owner      string     `json:"owner"`
	Scopes     []Scope    `json:"scopes"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  time.Time  `json:"expiresAt"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
	hash       string
}

// Store keeps sessions and personal access tokens.
type Store interface {
	CreateSession(ctx context.Context, s Session) error
	// FindSession returns an unexpired session; errs.NotFound otherwise.
	FindSession(ctx context.Context, id string, now time.Time) (Session, error)
	DeleteSession(ctx context.Context, id string) error
	CreateAccessToken(ctx context.Context, t AccessToken, hash string) error
	// FindAccessToken returns the token with hash whatever its state; the caller checks expiry and revocation.
	FindAccessToken(ctx context.Context, hash string) (AccessToken, error)
	TouchAccessToken(ctx context.Context, id string, at time.Time) error
	ListAccessTokens(ctx context.Context, owner string) ([]AccessToken, error)
	RevokeAccessToken(ctx context.Context, id string, at time.Time) error
	GetAccessToken(ctx context.Context, id string) (AccessToken, error)
}

// Options configure an Authenticator.
type Options struct {
	Tokens []StaticToken
	Guest  bool
	// GuestAdmin makes the guest an admin: the local-development default, where the guest is the developer.
	GuestAdmin       bool
	AdminGroups      []string
	BackstageSecrets []BackstageSecret
	Store            Store
	Ownership        OwnershipResolver
	Now              func() time.Time
}

// Authenticator resolves credentials to principals.
type Authenticator struct {
	opts   Options
	tokens []hashedToken
	now    func() time.Time
}

type hashedToken struct {
	sum    [32]byte
	token  StaticToken
	scopes []Scope
}

// New keeps only hashes of static tokens, so a heap dump does not leak them and lookups compare fixed-size
// values in constant time.
func New(opts Options) *Authenticator {
	a := &Authenticator{opts: opts, now: opts.Now}
	if a.now == nil {
		a.now = time.Now
	}
	for _, t := range opts.Tokens {
		a.tokens = append(a.tokens, hashedToken{sum: sha256.Sum256([]byte(t.Token)), token: StaticToken{Subject: t.Subject, Admin: t.Admin}, scopes: t.Scopes})
	}
	return a
}

// NewAuthenticator is New with static tokens and guest access only.
func NewAuthenticator(tokens []StaticToken, guest bool) *Authenticator {
	return New(Options{Tokens: tokens, Guest: guest})
}

// GuestEnabled reports whether unauthenticated callers are let in.
func (a *Authenticator) GuestEnabled() bool { return a.opts.Guest }

// Credentials are what a request presents.
type Credentials struct {
	Authorization string
	// Session is the session cookie's value.
	Session string
	// BackstageRoute accepts Backstage service tokens, which are only meant for Backstage-compatible routes.
	BackstageRoute bool
}

// PersonalTokenPrefix starts every personal access token, so a leaked one is recognisable (and greppable).
const PersonalTokenPrefix = "pat_"

// Authenticate resolves an Authorization header value. An empty header yields the guest principal
// when guest access is on; a present but unknown token is always refused, never downgraded to guest.
func (a *Authenticator) Authenticate(authorization string) (Principal, error) {
	return a.AuthenticateRequest(context.Background(), Credentials{Authorization: authorization})
}

// AuthenticateRequest resolves a bearer token, else a session cookie, else the guest.
func (a *Authenticator) AuthenticateRequest(ctx context.Context, c Credentials) (Principal, error) {
	if c.Authorization != "" {
		scheme, token, ok := strings.Cut(c.Authorization, " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
			return Principal{}, errs.E(errs.Unauthenticated, "Invalid Authorization header: expected Bearer <token>")
		}
		return a.bearer(ctx, token, c.BackstageRoute)
	}
	if c.Session != "" && a.opts.Store != nil {
		s, err := a.opts.Store.FindSession(ctx, HashSecret(c.Session), a.now())
		if err == nil {
			p := a.person(s.UserRef, "session")
			p.SessionID, p.CSRF = s.ID, s.CSRF
			return p, nil
		}
		if !errs.Is(err, errs.NotFound) {
			return Principal{}, err
		}
		// An expired or signed-out session falls through to the guest, like no cookie at all.
	}
	if a.opts.Guest {
		p := GuestPrincipal
		p.Ownership = a.ownership(GuestRef)
		p.Admin = a.opts.GuestAdmin || a.isAdmin(p.Ownership)
		return p, nil
	}
	return Principal{}, errs.E(errs.Unauthenticated, "Missing credentials: sign in, or send an Authorization: Bearer <token> header")
}

func (a *Authenticator) bearer(ctx context.Context, token string, backstageRoute bool) (Principal, error) {
	if strings.HasPrefix(token, PersonalTokenPrefix) && a.opts.Store != nil {
		return a.personalToken(ctx, token)
	}
	sum := sha256.Sum256([]byte(token))
	var match *hashedToken
	for i := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], a.tokens[i].sum[:]) == 1 {
			match = &a.tokens[i]
		}
	}
	if match != nil {
		p := Principal{Subject: match.token.Subject, Kind: KindService, Via: "static", Scopes: match.scopes, Admin: match.token.Admin}
		p.Ownership = a.ownership(match.token.Subject)
		p.Admin = p.Admin || a.isAdmin(p.Ownership)
		return p, nil
	}
	if backstageRoute && len(a.opts.BackstageSecrets) > 0 && strings.Count(token, ".") == 2 {
		if p, ok := a.backstageToken(token); ok {
			return p, nil
		}
	}
	return Principal{}, errs.E(errs.Unauthenticated, "Invalid token")
}

func (a *Authenticator) personalToken(ctx context.Context, token string) (Principal, error) {
	t, err := a.opts.Store.FindAccessToken(ctx, HashSecret(token))
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return Principal{}, errs.E(errs.Unauthenticated, "Invalid token")
		}
		return Principal{}, err
	}
	now := a.now()
	if t.RevokedAt != nil {
		return Principal{}, errs.E(errs.Unauthenticated, "Token %s was revoked", t.ID)
	}
	if !now.Before(t.ExpiresAt) {
		return Principal{}, errs.E(errs.Unauthenticated, "Token %s expired on %s", t.ID, t.ExpiresAt.UTC().Format(time.DateOnly))
	}
	// Recording use is best effort and at most once a minute per token, so reads do not each cost a write.
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
		_ = a.opts.Store.TouchAccessToken(ctx, t.ID, now)
	}
	p := a.person(t.Owner, "token")
	p.Scopes, p.TokenID = t.Scopes, t.ID
	return p, nil
}

func (a *Authenticator) backstageToken(token string) (Principal, bool) {
	for _, s := range a.opts.BackstageSecrets {
		claims := jwt.RegisteredClaims{}
		parsed, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return s.Secret, nil },
			jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(a.now))
		if err != nil || !parsed.Valid {
			continue
		}
		subject := s.Subject
		if subject == "" {
			subject = claims.Subject
		}
		return Principal{Subject: subject, Kind: KindService, Via: "backstage", Ownership: []string{subject}}, true
	}
	return Principal{}, false
}

// ActAs returns the principal that work someone started earlier (a scaffolder task) acts as: the subject it
// recorded, with the group memberships and admin standing it has now. A static token's subject keeps its
// token's scopes and admin flag; the guest acts only while guest access is on. Scopes of the credentials that
// started the work are checked when it starts (CheckScope), as they are not recorded.
func (a *Authenticator) ActAs(subject string) (Principal, error) {
	switch {
	case subject == "":
		return Principal{}, errs.E(errs.Unauthenticated, "the work was started by nobody Portal knows, so it cannot act for them")
	case strings.EqualFold(subject, GuestRef):
		if !a.opts.Guest {
			return Principal{}, errs.E(errs.Unauthenticated, "the work was started by the guest, and guest access is now off")
		}
		p := GuestPrincipal
		p.Ownership = a.ownership(GuestRef)
		p.Admin = a.opts.GuestAdmin || a.isAdmin(p.Ownership)
		return p, nil
	case strings.HasPrefix(strings.ToLower(subject), "user:"):
		return a.person(subject, "task"), nil
	}
	for _, t := range a.tokens {
		if t.token.Subject == subject {
			p := Principal{Subject: subject, Kind: KindService, Via: "static", Scopes: t.scopes, Admin: t.token.Admin}
			p.Ownership = a.ownership(subject)
			p.Admin = p.Admin || a.isAdmin(p.Ownership)
			return p, nil
		}
	}
	return Principal{}, errs.E(errs.Unauthenticated, "%s, who started the work, has no credentials configured any more", subject)
}

func (a *Authenticator) person(userRef, via string) Principal {
	p := Principal{Subject: userRef, Kind: KindUser, Via: via, Ownership: a.ownership(userRef)}
	p.Admin = a.isAdmin(p.Ownership)
	return p
}

func (a *Authenticator) ownership(ref string) []string {
	if a.opts.Ownership != nil && strings.HasPrefix(strings.ToLower(ref), "user:") {
		return a.opts.Ownership.Ownership(ref)
	}
	return []string{ref}
}

func (a *Authenticator) isAdmin(ownership []string) bool {
	for _, g := range a.opts.AdminGroups {
		for _, o := range ownership {
			if strings.EqualFold(g, o) {
				return true
			}
		}
	}
	return false
}

// HashSecret is how sessions and personal access tokens are stored: hex SHA-256. The secrets are 256-bit
// random values, so a fast hash is enough; nothing about them is guessable.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// RandomSecret returns 32 random bytes, base64url-encoded.
func RandomSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", errs.Wrap(errs.Internal, err, "cannot generate a secret")
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// NewAccessTokenRequest asks for a personal access token.
type NewAccessTokenRequest struct {
	Name      string
	Scopes    []string
	ExpiresIn time.Duration
}

// MaxTokenLifetime bounds personal access tokens; a token that never expires is a credential nobody rotates.
const MaxTokenLifetime = 366 * 24 * time.Hour

// CreateAccessToken issues a personal access token for the signed-in person and returns it once; only its hash
// is stored. A token cannot be made from another token, so a leaked token cannot mint more.
func (a *Authenticator) CreateAccessToken(ctx context.Context, p Principal, req NewAccessTokenRequest) (AccessToken, string, error) {
	if err := Decide(p, TokenManage, Resource{}); err != nil {
		return AccessToken{}, "", err
	}
	if p.Via != "session" {
		return AccessToken{}, "", errs.E(errs.Forbidden, "not allowed to %s: personal access tokens are created from a signed-in session, not with another token", TokenManage)
	}
	if a.opts.Store == nil {
		return AccessToken{}, "", errs.E(errs.NotImplemented, "token storage is not configured")
	}
	name := strings.TrimSpace(req.Name)
	if name == "" || len(name) > 100 {
		return AccessToken{}, "", errs.E(errs.Invalid, "name: give the token a name of 1 to 100 characters")
	}
	scopes, err := ParseScopes(req.Scopes)
	if err != nil {
		return AccessToken{}, "", err
	}
	if req.ExpiresIn <= 0 || req.ExpiresIn > MaxTokenLifetime {
		return AccessToken{}, "", errs.E(errs.Invalid, "expiresInDays: must be between 1 and %d", int(MaxTokenLifetime.Hours()/24))
	}
	secret, err := RandomSecret()
	if err != nil {
		return AccessToken{}, "", err
	}
	id, err := RandomSecret()
	if err != nil {
		return AccessToken{}, "", err
	}
	now := a.now().UTC()
	t := AccessToken{ID: "tok_" + id[:16], Name: name, Owner: p.Subject, Scopes: scopes, CreatedAt: now, ExpiresAt: now.Add(req.ExpiresIn)}
	token := PersonalTokenPrefix + secret
	if err := a.opts.Store.CreateAccessToken(ctx, t, HashSecret(token)); err != nil {
		return AccessToken{}, "", err
	}
	return t, token, nil
}

// ListAccessTokens lists a person's tokens (an admin's list is still their own).
func (a *Authenticator) ListAccessTokens(ctx context.Context, p Principal) ([]AccessToken, error) {
	if err := Decide(p, TokenManage, Resource{}); err != nil {
		return nil, err
	}
	if a.opts.Store == nil {
		return []AccessToken{}, nil
	}
	return a.opts.Store.ListAccessTokens(ctx, p.Subject)
}

// RevokeAccessToken revokes one of the caller's tokens; admins may revoke anyone's.
func (a *Authenticator) RevokeAccessToken(ctx context.Context, p Principal, id string) error {
	if a.opts.Store == nil {
		return errs.E(errs.NotFound, "No token %s", id)
	}
	t, err := a.opts.Store.GetAccessToken(ctx, id)
	if err != nil {
		return err
	}
	if !p.Admin || p.Kind != KindUser {
		if err := Decide(p, TokenManage, Resource{}); err != nil {
			return err
		}
		if !strings.EqualFold(t.Owner, p.Subject) {
			return errs.E(errs.NotFound, "No token %s", id)
		}
	}
	return a.opts.Store.RevokeAccessToken(ctx, id, a.now())
}

// StartSession signs a person in: it stores a session and returns the cookie value and the session.
func (a *Authenticator) StartSession(ctx context.Context, userRef, login string, lifetime time.Duration) (string, Session, error) {
	if a.opts.Store == nil {
		return "", Session{}, errs.E(errs.NotImplemented, "session storage is not configured")
	}
	secret, err := RandomSecret()
	if err != nil {
		return "", Session{}, err
	}
	csrf, err := RandomSecret()
	if err != nil {
		return "", Session{}, err
	}
	now := a.now().UTC()
	s := Session{ID: HashSecret(secret), UserRef: userRef, Login: login, CSRF: csrf, CreatedAt: now, ExpiresAt: now.Add(lifetime)}
	if err := a.opts.Store.CreateSession(ctx, s); err != nil {
		return "", Session{}, err
	}
	return secret, s, nil
}

// EndSession signs a session out.
func (a *Authenticator) EndSession(ctx context.Context, p Principal) error {
	if p.SessionID == "" || a.opts.Store == nil {
		return nil
	}
	return a.opts.Store.DeleteSession(ctx, p.SessionID)
}

// CheckCSRF compares a presented CSRF token with the session's in constant time.
func CheckCSRF(p Principal, presented string) error {
	if p.Via != "session" {
		return nil
	}
	if presented == "" || subtle.ConstantTimeCompare([]byte(presented), []byte(p.CSRF)) != 1 {
		return errs.E(errs.Forbidden, "missing or wrong CSRF token: send the X-CSRF-Token header (from /api/auth/me) with cookie-authenticated changes")
	}
	return nil
}

// ScopesOf lists a principal's effective scopes for display.
func ScopesOf(p Principal) []Scope {
	if p.Scopes == nil {
		return slices.Clone(AllScopes)
	}
	return p.Scopes
}

func fmtMsg(format string, args ...any) string { return fmt.Sprintf(format, args...) }
