package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/deploy"
)

// TestDeployReleaseClaims: a release is worked on by one worker at a time, from the queue to the end; it is
// claimed again only once the claim's lease runs out (its worker stopped).
func TestDeployReleaseClaims(t *testing.T) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			now := time.Now().UTC()
			r, err := st.CreateRelease(ctx, deploy.Release{Component: "component:default/payment-service", Environment: "dev",
				Kind: deploy.KindDeploy, Status: deploy.StatusQueued, RequestedBy: "user:default/lucia.fernandez",
				Image: deploy.Image{Repository: "r/payment-service", Tag: "1.0.0", Digest: "sha256:1"}})
			require.NoError(t, err)

			got, ok, err := st.ClaimRelease(ctx, "replica-a", now, time.Minute)
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, r.ID, got.ID)
			require.Equal(t, 1, got.Attempts)

			_, ok, err = st.ClaimRelease(ctx, "replica-a", now, time.Minute)
			require.NoError(t, err)
			require.False(t, ok, "still queued, but claimed: the same worker's next claim does not take it again")
			_, ok, err = st.ClaimRelease(ctx, "replica-b", now.Add(30*time.Second), time.Minute)
			require.NoError(t, err)
			require.False(t, ok, "nor does another replica's while the lease holds")

			applying := deploy.StatusApplying
			_, err = st.UpdateRelease(ctx, r.ID, deploy.ReleaseUpdate{Status: &applying})
			require.NoError(t, err)
			_, ok, err = st.ClaimRelease(ctx, "replica-b", now.Add(30*time.Second), time.Minute)
			require.NoError(t, err)
			require.False(t, ok)

			got, ok, err = st.ClaimRelease(ctx, "replica-b", now.Add(2*time.Minute), time.Minute)
			require.NoError(t, err)
			require.True(t, ok, "a release whose worker stopped renewing is resumed by another")
			require.Equal(t, 2, got.Attempts)
			require.Equal(t, deploy.StatusApplying, got.Status)
		})
	}
}
