package service

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/billpay/portal/internal/errs"
)

func randomSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", errs.Wrap(errs.Internal, err, "cannot generate a secret")
	}
	return hex.EncodeToString(b), nil
}

// streamTokenLifetime bounds how long a leaked event-stream URL stays usable; a client whose token expired
// gets 401 on reconnect and refetches the bulk evaluation, which hands it a fresh URL.
const streamTokenLifetime = 7 * 24 * time.Hour

// StreamToken signs an event-stream URL for a key: browsers' EventSource cannot send headers, so the URL
// itself carries the environment and proof that a valid key asked for it.
func (s *Service) StreamToken(k Key) string {
	// The expiry moves once a day, so the URL a client is handed stays the same between refetches and its
	// provider keeps the open connection instead of reconnecting after every change.
	exp := strconv.FormatInt(s.now().Truncate(24*time.Hour).Add(streamTokenLifetime).Unix(), 10)
	payload := k.Environment + "." + k.ID + "." + exp
	return payload + "." + s.mac(payload)
}

// VerifyStreamToken returns the environment a stream token grants.
func (s *Service) VerifyStreamToken(token string) (string, error) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return "", errs.E(errs.Unauthenticated, "malformed stream token")
	}
	payload, sig := token[:i], token[i+1:]
	if !hmac.Equal([]byte(sig), []byte(s.mac(payload))) {
		return "", errs.E(errs.Unauthenticated, "invalid stream token")
	}
	parts := strings.Split(payload, ".")
	if len(parts) != 3 {
		return "", errs.E(errs.Unauthenticated, "malformed stream token")
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || s.now().Unix() > exp {
		return "", errs.E(errs.Unauthenticated, "stream token expired; fetch the evaluation again for a new one")
	}
	if _, ok := s.envs[parts[0]]; !ok {
		return "", errs.E(errs.Unauthenticated, "stream token names an unknown environment")
	}
	return parts[0], nil
}

func (s *Service) mac(payload string) string {
	key := s.signer.Load()
	if key == nil {
		return ""
	}
	m := hmac.New(sha256.New, *key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
