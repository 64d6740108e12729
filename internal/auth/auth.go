// Package auth decides who a caller is. It holds no HTTP or storage code: the HTTP layer hands it
// the presented credentials and acts on the Principal it returns.
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"github.com/billpay/portal/internal/errs"
)

// Principal is an authenticated caller.
type Principal struct {
	// Subject is the token's subject, or the user ref for people and guests.
	Subject string
	// Guest is set for callers let in by guest access.
	Guest bool
}

// GuestPrincipal is who an unauthenticated caller is when guest access is on.
var GuestPrincipal = Principal{Subject: "user:default/guest", Guest: true}

// StaticToken is a configured bearer token.
type StaticToken struct {
	Token   string
	Subject string
}

// Authenticator resolves bearer tokens to principals.
type Authenticator struct {
	tokens []hashedToken
	guest  bool
}

type hashedToken struct {
	sum     [32]byte
	subject string
}

// NewAuthenticator keeps only hashes of the tokens, so a heap dump does not leak them and lookups
// compare fixed-size values in constant time.
func NewAuthenticator(tokens []StaticToken, guest bool) *Authenticator {
	a := &Authenticator{guest: guest}
	for _, t := range tokens {
		a.tokens = append(a.tokens, hashedToken{sum: sha256.Sum256([]byte(t.Token)), subject: t.Subject})
	}
	return a
}

// GuestEnabled reports whether unauthenticated callers are let in.
func (a *Authenticator) GuestEnabled() bool { return a.guest }

// Authenticate resolves an Authorization header value. An empty header yields the guest principal
// when guest access is on; a present but unknown token is always refused, never downgraded to guest.
func (a *Authenticator) Authenticate(authorization string) (Principal, error) {
	if authorization == "" {
		if a.guest {
			return GuestPrincipal, nil
		}
		return Principal{}, errs.E(errs.Unauthenticated, "Missing credentials: send an Authorization: Bearer <token> header")
	}
	scheme, token, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(token) == "" {
		return Principal{}, errs.E(errs.Unauthenticated, "Invalid Authorization header: expected Bearer <token>")
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	var match *hashedToken
	for i := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], a.tokens[i].sum[:]) == 1 {
			match = &a.tokens[i]
		}
	}
	if match == nil {
		return Principal{}, errs.E(errs.Unauthenticated, "Invalid token")
	}
	return Principal{Subject: match.subject}, nil
}
