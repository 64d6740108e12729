package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/catalog/service"
	"github.com/billpay/portal/internal/store"
)

// countingFeed counts the entities the index reads back from the database.
type countingFeed struct {
	*store.Store
	read atomic.Int64
}

func (f *countingFeed) ChangesSince(ctx context.Context, version int64, limit int) ([]service.Change, error) {
	changes, err := f.Store.ChangesSince(ctx, version, limit)
	f.read.Add(int64(len(changes)))
	return changes, err
}

// TestCommitsReachTheIndexWithoutReadingThemBack: on SQLite the processing loop hands what it stitched to the
// index of its own replica, which then reads (almost) nothing back from the change feed. What the index holds
// must equal what an index built from the feed alone holds, through additions, changes and removals.
func TestCommitsReachTheIndexWithoutReadingThemBack(t *testing.T) {
	st := MustOpen(t, "", t.TempDir())
	h := newHarness(t, st)
	feed := &countingFeed{Store: st}
	h.svc = service.New(st, feed, h.proc, h.engine, slog.New(slog.NewTextHandler(io.Discard, nil)), service.Options{})
	st.FollowCommits(h.svc)
	require.NoError(t, h.svc.Sync(t.Context()))

	// An entity read earlier from elsewhere points at one the big file brings: the relation it holds must reach
	// the new entity's final form, which is assembled while the commit writes.
	h.configLocations(h.write("other.yaml", component("caller", "group:team-a", "  dependsOn: [component:svc-5]")))
	h.drain()

	const n = 60
	var docs []string
	for i := range n {
		docs = append(docs, component(fmt.Sprintf("svc-%d", i), "group:team-a", fmt.Sprintf("  dependsOn: [component:svc-%d]", (i+1)%n)))
	}
	docs = append(docs, "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team-a}\nspec: {type: team, children: []}\n")
	path := h.write("catalog-info.yaml", strings.Join(docs, "---\n"))
	h.configLocations(h.dir+"/other.yaml", path)
	h.drain()
	require.Equal(t, n+4, len(h.entities())) // the components, the group, caller and two generated Locations
	require.Less(t, feed.read.Load(), int64(n), "the index read the ingest back from the database")
	require.Contains(t, relationsOf(h.entity("component:default/svc-5")), "dependencyOf component:default/caller")
	sameAsFeed(t, st, h.svc)
	written, err := st.RestitchAll(t.Context())
	require.NoError(t, err)
	require.Zero(t, written, "a stitch reading everything back from the database builds what the commit built")

	// A changed entity, a removed one and a new one.
	docs[0] = component("svc-0", "group:team-b")
	docs[1] = component("svc-new", "group:team-a")
	h.write("catalog-info.yaml", strings.Join(docs, "---\n"))
	h.reprocessAll()
	written, err = st.RestitchAll(t.Context())
	require.NoError(t, err)
	require.Zero(t, written)
	orphan := h.entity("component:default/svc-1")
	require.Equal(t, "true", orphan.Annotation("backstage.io/orphan"))
	require.NotNil(t, h.entity("component:default/svc-new"))
	require.Equal(t, "group:team-b", h.entity("component:default/svc-0").Spec()["owner"])
	sameAsFeed(t, st, h.svc)

	// A deletion outside the processing loop comes through the feed, after handed-over commits.
	require.NoError(t, st.DeleteEntityByUID(t.Context(), orphan.UID()))
	h.drain()
	require.Nil(t, h.entity("component:default/svc-1"))
	sameAsFeed(t, st, h.svc)
}

// sameAsFeed compares the service's index with one built from the change feed alone.
func sameAsFeed(t *testing.T, st *store.Store, svc *service.Service) {
	t.Helper()
	fresh := service.New(st, st, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), service.Options{})
	require.NoError(t, fresh.Sync(t.Context()))
	require.Equal(t, fresh.Version(), svc.Version())
	want, _ := fresh.Index().List(catalog.ListRequest{})
	got, _ := svc.Index().List(catalog.ListRequest{})
	require.Equal(t, len(want), len(got))
	for i := range want {
		require.JSONEq(t, string(want[i]), string(got[i]))
	}
}

func relationsOf(e map[string]any) []string {
	var out []string
	rels, _ := e["relations"].([]any)
	for _, r := range rels {
		m, _ := r.(map[string]any)
		out = append(out, fmt.Sprint(m["type"], " ", m["targetRef"]))
	}
	return out
}
