package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/techdocs"
	tdservice "github.com/billpay/portal/internal/techdocs/service"
)

func TestDocsBuildStore(t *testing.T) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			const portal, payments = "component:default/portal", "component:default/payment-service"

			removed, err := st.TrackDocs(ctx, map[string]string{portal: "e1", payments: "e1"}, now)
			require.NoError(t, err)
			require.Empty(t, removed)

			t.Run("leases due entities to one replica at a time", func(t *testing.T) {
				a, err := st.ClaimDueDocs(ctx, "replica-a", 1, time.Minute, now)
				require.NoError(t, err)
				require.Len(t, a, 1)
				b, err := st.ClaimDueDocs(ctx, "replica-b", 5, time.Minute, now)
				require.NoError(t, err)
				require.Len(t, b, 1)
				require.NotEqual(t, a[0].EntityRef, b[0].EntityRef)
				none, err := st.ClaimDueDocs(ctx, "replica-c", 5, time.Minute, now)
				require.NoError(t, err)
				require.Empty(t, none)

				_, ok, err := st.ClaimDocs(ctx, a[0].EntityRef, "replica-b", time.Minute, now)
				require.NoError(t, err)
				require.False(t, ok, "another replica's lease holds")
				_, ok, err = st.ClaimDocs(ctx, a[0].EntityRef, "replica-a", time.Minute, now.Add(30*time.Second))
				require.NoError(t, err)
				require.True(t, ok, "the owner renews its lease")

				for _, claim := range []struct {
					owner string
					b     tdservice.Build
				}{{"replica-a", a[0]}, {"replica-b", b[0]}} {
					require.NoError(t, st.StartDocsBuild(ctx, claim.b.EntityRef, claim.owner, now))
					got, err := st.GetDocsBuild(ctx, claim.b.EntityRef)
					require.NoError(t, err)
					require.Equal(t, tdservice.StateBuilding, got.State)
					done := claim.b
					done.State, done.Etag, done.SourceHash, done.EntityEtag = tdservice.StateSucceeded, "etag-1", "hash-1", "e1"
					done.Warnings = []techdocs.Diagnostic{{File: "docs/index.md", Line: 3, Message: "broken link"}}
					done.CheckedAt, done.FinishedAt, done.NextCheckAt = &now, &now, now.Add(10*time.Minute)
					require.True(t, errs.Is(st.FinishDocs(ctx, "replica-c", done), errs.Conflict), "only the lease holder records")
					require.NoError(t, st.FinishDocs(ctx, claim.owner, done))
				}
				got, err := st.GetDocsBuild(ctx, portal)
				require.NoError(t, err)
				require.Equal(t, tdservice.StateSucceeded, got.State)
				require.Equal(t, "etag-1", got.Etag)
				require.Empty(t, got.LeaseOwner)
				require.Nil(t, got.LeaseUntil)
				require.Equal(t, []techdocs.Diagnostic{{File: "docs/index.md", Line: 3, Message: "broken link"}}, got.Warnings)
				require.True(t, got.NextCheckAt.Equal(now.Add(10*time.Minute)))
			})

			t.Run("a lease that runs out goes to another replica", func(t *testing.T) {
				_, ok, err := st.ClaimDocs(ctx, portal, "replica-a", time.Minute, now)
				require.NoError(t, err)
				require.True(t, ok)
				_, ok, err = st.ClaimDocs(ctx, portal, "replica-b", time.Minute, now.Add(2*time.Minute))
				require.NoError(t, err)
				require.True(t, ok)
				b, err := st.GetDocsBuild(ctx, portal)
				require.NoError(t, err)
				b.CheckedAt = &now
				require.NoError(t, st.FinishDocs(ctx, "replica-b", b))
			})

			t.Run("makes an entity due when the catalog changed it", func(t *testing.T) {
				later := now.Add(time.Minute)
				_, err := st.TrackDocs(ctx, map[string]string{portal: "e2", payments: "e1"}, later)
				require.NoError(t, err)
				due, err := st.ClaimDueDocs(ctx, "replica-a", 5, time.Minute, later)
				require.NoError(t, err)
				require.Len(t, due, 1)
				require.Equal(t, portal, due[0].EntityRef)
				done := due[0]
				done.EntityEtag, done.NextCheckAt, done.CheckedAt = "e2", later.Add(time.Hour), &later
				require.NoError(t, st.FinishDocs(ctx, "replica-a", done))
			})

			t.Run("keeps a rebuild asked for during a check", func(t *testing.T) {
				at := now.Add(2 * time.Minute)
				b, ok, err := st.ClaimDocs(ctx, payments, "replica-a", time.Minute, at)
				require.NoError(t, err)
				require.True(t, ok)
				require.NoError(t, st.RequestDocsBuild(ctx, payments, at))
				b.CheckedAt, b.NextCheckAt = &at, at.Add(time.Hour)
				require.NoError(t, st.FinishDocs(ctx, "replica-a", b))
				due, err := st.ClaimDueDocs(ctx, "replica-a", 5, time.Minute, at.Add(time.Second))
				require.NoError(t, err)
				require.Len(t, due, 1)
				require.True(t, due[0].Force)
				forced := due[0]
				forced.CheckedAt = &at
				forced.NextCheckAt = at.Add(time.Hour)
				require.NoError(t, st.FinishDocs(ctx, "replica-a", forced))
				got, err := st.GetDocsBuild(ctx, payments)
				require.NoError(t, err)
				require.False(t, got.Force, "a forced check consumes the request")
			})

			t.Run("forgets entities that lost their docs", func(t *testing.T) {
				removed, err := st.TrackDocs(ctx, map[string]string{portal: "e2"}, now.Add(3*time.Minute))
				require.NoError(t, err)
				require.Equal(t, []string{payments}, removed)
				_, err = st.GetDocsBuild(ctx, payments)
				require.True(t, errs.Is(err, errs.NotFound))
				all, err := st.ListDocsBuilds(ctx)
				require.NoError(t, err)
				require.Len(t, all, 1)
			})
		})
	}
}
