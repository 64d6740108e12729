package auth

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/errs"
)

func TestAuthenticate(t *testing.T) {
	tokens := []StaticToken{{Token: "ci-token-0123456789", Subject: "ci"}, {Token: "ops-token-0123456789", Subject: "ops"}}

	t.Run("a configured token resolves to its subject", func(t *testing.T) {
		p, err := NewAuthenticator(tokens, false).Authenticate("Bearer ops-token-0123456789")
		require.NoError(t, err)
		require.Equal(t, Principal{Subject: "ops"}, p)
	})

	t.Run("the scheme is case-insensitive", func(t *testing.T) {
		p, err := NewAuthenticator(tokens, false).Authenticate("bearer ci-token-0123456789")
		require.NoError(t, err)
		require.Equal(t, "ci", p.Subject)
	})

	t.Run("no header is refused without guest access", func(t *testing.T) {
		_, err := NewAuthenticator(tokens, false).Authenticate("")
		require.True(t, errs.Is(err, errs.Unauthenticated))
	})

	t.Run("no header is the guest with guest access", func(t *testing.T) {
		p, err := NewAuthenticator(tokens, true).Authenticate("")
		require.NoError(t, err)
		require.Equal(t, GuestPrincipal, p)
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
