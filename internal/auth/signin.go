package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/billpay/portal/internal/errs"
)

// ExternalIdentity is who an identity provider says signed in.
type ExternalIdentity struct {
	Login string
	Name  string
	Email string
	// Organizations and Teams ("org/team-slug") the person belongs to at the provider.
	Organizations []string
	Teams         []string
}

// IdentityProvider runs the provider's half of an OAuth authorization-code flow with PKCE.
type IdentityProvider interface {
	// AuthCodeURL is where to send the browser; verifier's S256 challenge goes with it.
	AuthCodeURL(state, verifier string) string
	// Exchange trades the code for a token (proving the verifier) and reads the person's identity.
	Exchange(ctx context.Context, code, verifier string) (ExternalIdentity, error)
}

// UserResolver finds the catalog User entity for an external identity.
type UserResolver interface {
	ResolveUser(ctx context.Context, id ExternalIdentity) (userRef string, err error)
}

// SignInConfig configures people's sign-in.
type SignInConfig struct {
	Provider IdentityProvider
	Users    UserResolver
	// AllowedOrganizations, when set, admit only members of one of them.
	AllowedOrganizations []string
	SessionLifetime      time.Duration
	// Key signs the short-lived state cookie; every replica must share it.
	Key []byte
}

// signInTTL bounds how long a person may take at the provider's consent screen.
const signInTTL = 10 * time.Minute

type signInState struct {
	State    string `json:"s"`
	Verifier string `json:"v"`
	ReturnTo string `json:"r"`
	Expires  int64  `json:"e"`
}

// SignInFlow begins and finishes sign-ins. The flow's state and PKCE verifier travel in a signed, short-lived,
// HttpOnly cookie rather than server memory, so the callback may land on any replica.
type SignInFlow struct {
	cfg  SignInConfig
	auth *Authenticator
}

// NewSignInFlow ties sign-in to the authenticator that will own the sessions.
func NewSignInFlow(cfg SignInConfig, a *Authenticator) *SignInFlow {
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = 12 * time.Hour
	}
	return &SignInFlow{cfg: cfg, auth: a}
}

// SafeReturnTo keeps a post-sign-in redirect on this site: only a local absolute path is accepted, so the
// sign-in link cannot be used to send someone elsewhere.
func SafeReturnTo(s string) string {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") || strings.ContainsAny(s, "\r\n") {
		return "/"
	}
	return s
}

// Begin returns the provider URL to redirect to and the state cookie value to set.
func (f *SignInFlow) Begin(returnTo string) (redirect, cookie string, err error) {
	state, err := RandomSecret()
	if err != nil {
		return "", "", err
	}
	verifier, err := RandomSecret()
	if err != nil {
		return "", "", err
	}
	st := signInState{State: state, Verifier: verifier, ReturnTo: SafeReturnTo(returnTo), Expires: f.auth.now().Add(signInTTL).Unix()}
	payload, _ := json.Marshal(st)
	enc := base64.RawURLEncoding.EncodeToString(payload)
	return f.cfg.Provider.AuthCodeURL(state, verifier), enc + "." + f.sign(enc), nil
}

func (f *SignInFlow) sign(payload string) string {
	m := hmac.New(sha256.New, f.cfg.Key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// SignedIn is a finished sign-in.
type SignedIn struct {
	Cookie   string
	Session  Session
	ReturnTo string
}

// Finish checks the callback against the state cookie, exchanges the code, admits the person if they belong
// to an allowed organization and have a catalog User, and starts a session.
func (f *SignInFlow) Finish(ctx context.Context, code, state, cookie string) (SignedIn, error) {
	enc, sig, ok := strings.Cut(cookie, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(f.sign(enc))) {
		return SignedIn{}, errs.E(errs.Unauthenticated, "sign-in state is missing or was tampered with: start the sign-in again")
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	var st signInState
	if err != nil || json.Unmarshal(raw, &st) != nil {
		return SignedIn{}, errs.E(errs.Unauthenticated, "sign-in state is malformed: start the sign-in again")
	}
	if f.auth.now().Unix() > st.Expires {
		return SignedIn{}, errs.E(errs.Unauthenticated, "sign-in took too long: start it again")
	}
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(st.State)) != 1 {
		return SignedIn{}, errs.E(errs.Unauthenticated, "sign-in state does not match: start the sign-in again")
	}
	if code == "" {
		return SignedIn{}, errs.E(errs.Unauthenticated, "the identity provider returned no authorization code")
	}
	id, err := f.cfg.Provider.Exchange(ctx, code, st.Verifier)
	if err != nil {
		return SignedIn{}, err
	}
	if len(f.cfg.AllowedOrganizations) > 0 && !slices.ContainsFunc(id.Organizations, func(o string) bool {
		return slices.ContainsFunc(f.cfg.AllowedOrganizations, func(a string) bool { return strings.EqualFold(a, o) })
	}) {
		return SignedIn{}, errs.E(errs.Forbidden, "GitHub user %s is not a member of an organization allowed to sign in (%s)", id.Login, strings.Join(f.cfg.AllowedOrganizations, ", "))
	}
	userRef, err := f.cfg.Users.ResolveUser(ctx, id)
	if err != nil {
		return SignedIn{}, err
	}
	value, sess, err := f.auth.StartSession(ctx, userRef, id.Login, f.cfg.SessionLifetime)
	if err != nil {
		return SignedIn{}, err
	}
	return SignedIn{Cookie: value, Session: sess, ReturnTo: st.ReturnTo}, nil
}
