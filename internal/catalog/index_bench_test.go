package catalog

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// benchCatalog builds n final entities shaped like /work/shared/bench/gen-catalog.mjs output after
// stitching: the same kind mix (0.2 % domains, 2 % groups, 15 % users, 3 % systems, 15 % APIs,
// 10 % resources, the rest components with 60 % production), uids, etags, managed-by annotations
// and the relations the built-in processors emit. Deterministic for a given n.
func benchCatalog(n int) [][]byte {
	rng := rand.New(rand.NewPCG(uint64(n), 0x5eed))
	pick := func(a []string) string { return a[rng.IntN(len(a))] }
	nDomains := max(1, n*2/1000)
	nGroups := max(2, n*2/100)
	nUsers := n * 15 / 100
	nSystems := max(1, n*3/100)
	nAPIs := n * 15 / 100
	nResources := n * 10 / 100
	nComponents := n - nDomains - nGroups - nUsers - nSystems - nAPIs - nResources
	words := []string{"billing", "checkout", "search", "identity", "payments", "catalog", "inventory", "shipping",
		"analytics", "notifications", "pricing", "recommendations", "ledger", "reporting", "gateway", "profile"}
	lifecycles := []string{"production", "production", "production", "production", "production", "production",
		"experimental", "experimental", "experimental", "deprecated"}
	group := func(i int) string { return fmt.Sprintf("team-%05d", i) }
	system := func(i int) string { return fmt.Sprintf("system-%05d", i) }
	api := func(i int) string { return fmt.Sprintf("api-%06d", i) }
	resource := func(i int) string { return fmt.Sprintf("resource-%06d", i) }
	component := func(i int) string { return fmt.Sprintf("component-%06d", i) }

	var out [][]byte
	seq := 0
	emit := func(kind, name string, md map[string]any, spec map[string]any, rels [][2]string) {
		seq++
		md["name"] = name
		md["namespace"] = "default"
		md["uid"] = fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), seq&0xffff, rng.IntN(4096), rng.IntN(4096), rng.Uint64()&0xffffffffffff)
		md["etag"] = fmt.Sprintf("%040x", rng.Uint64())
		ann, _ := md["annotations"].(map[string]any)
		if ann == nil {
			ann = map[string]any{}
			md["annotations"] = ann
		}
		ann[AnnotationManagedByLocation] = fmt.Sprintf("file:/catalog/part-%03d.yaml", seq/500)
		ann[AnnotationManagedByOriginLocation] = fmt.Sprintf("file:/catalog/part-%03d.yaml", seq/500)
		relations := make([]any, 0, len(rels))
		for _, r := range rels {
			kind, rest, _ := strings.Cut(r[1], ":")
			ns, nm, _ := strings.Cut(rest, "/")
			relations = append(relations, map[string]any{"type": r[0], "targetRef": r[1],
				"target": map[string]any{"kind": kind, "namespace": ns, "name": nm}})
		}
		e := map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": md, "spec": spec, "relations": relations}
		b, err := json.Marshal(e)
		if err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	meta := func(kind, name string) map[string]any {
		return map[string]any{"title": strings.ReplaceAll(name, "-", " "), "description": kind + " " + name + " generated for benchmarking"}
	}
	grp := func() string { return "group:default/" + group(rng.IntN(nGroups)) }

	for i := range nDomains {
		owner := grp()
		emit("Domain", fmt.Sprintf("domain-%04d", i), meta("Domain", "d"), map[string]any{"owner": owner}, [][2]string{{"ownedBy", owner}})
	}
	for i := range nGroups {
		spec := map[string]any{"type": "team", "profile": map[string]any{"displayName": "Team " + pick(words), "email": group(i) + "@example.com"}, "children": []any{}}
		var rels [][2]string
		if i > 0 {
			spec["parent"] = group((i - 1) / 5)
			rels = append(rels, [2]string{"childOf", "group:default/" + group((i-1)/5)})
		}
		for c := i*5 + 1; c <= i*5+5 && c < nGroups; c++ {
			rels = append(rels, [2]string{"parentOf", "group:default/" + group(c)})
		}
		emit("Group", group(i), meta("Group", group(i)), spec, rels)
	}
	for i := range nUsers {
		g := group(rng.IntN(nGroups))
		emit("User", fmt.Sprintf("user-%06d", i), map[string]any{},
			map[string]any{"profile": map[string]any{"displayName": fmt.Sprintf("User %d", i), "email": fmt.Sprintf("user-%06d@example.com", i)}, "memberOf": []any{g}},
			[][2]string{{"memberOf", "group:default/" + g}})
	}
	for i := range nSystems {
		owner := grp()
		md := meta("System", system(i))
		md["tags"] = []any{pick(words)}
		emit("System", system(i), md, map[string]any{"owner": owner, "domain": fmt.Sprintf("domain-%04d", rng.IntN(nDomains))},
			[][2]string{{"ownedBy", owner}, {"partOf", fmt.Sprintf("domain:default/domain-%04d", rng.IntN(nDomains))}})
	}
	for i := range nAPIs {
		owner, sys := grp(), system(rng.IntN(nSystems))
		md := meta("API", api(i))
		md["tags"] = []any{"rest", pick(words)}
		emit("API", api(i), md, map[string]any{"type": "openapi", "lifecycle": pick(lifecycles), "owner": owner, "system": sys,
			"definition": "openapi: 3.0.0\ninfo:\n  title: " + api(i) + "\n  version: 1.0.0\npaths:\n  /items/{id}:\n    get:\n      summary: Get item\n      parameters:\n        - name: id\n          in: path\n          required: true\n          schema:\n            type: string\n      responses:\n        '200':\n          description: ok"},
			[][2]string{{"ownedBy", owner}, {"partOf", "system:default/" + sys}})
	}
	for i := range nResources {
		owner, sys := grp(), system(rng.IntN(nSystems))
		emit("Resource", resource(i), meta("Resource", resource(i)), map[string]any{"type": pick([]string{"database", "s3-bucket", "queue", "cache"}), "owner": owner, "system": sys},
			[][2]string{{"ownedBy", owner}, {"partOf", "system:default/" + sys}})
	}
	for i := range nComponents {
		name := component(i)
		owner, sys := grp(), system(rng.IntN(nSystems))
		spec := map[string]any{"type": pick([]string{"service", "service", "website", "library"}), "lifecycle": pick(lifecycles), "owner": owner, "system": sys}
		rels := [][2]string{{"ownedBy", owner}, {"partOf", "system:default/" + sys}}
		if nAPIs > 0 && rng.Float64() < 0.6 {
			a := api(rng.IntN(nAPIs))
			spec["providesApis"] = []any{a}
			rels = append(rels, [2]string{"providesApi", "api:default/" + a})
		}
		if nAPIs > 0 && rng.Float64() < 0.5 {
			a := api(rng.IntN(nAPIs))
			spec["consumesApis"] = []any{a}
			rels = append(rels, [2]string{"consumesApi", "api:default/" + a})
		}
		if rng.Float64() < 0.6 {
			d := "component:default/" + component(rng.IntN(nComponents))
			spec["dependsOn"] = []any{d}
			rels = append(rels, [2]string{"dependsOn", d})
		}
		md := meta("Component", name)
		md["tags"] = []any{pick(words), pick([]string{"java", "go", "node", "python"})}
		md["annotations"] = map[string]any{AnnotationTechDocsRef: "dir:.", "github.com/project-slug": "example/" + name}
		md["links"] = []any{map[string]any{"url": "https://example.com/" + name, "title": "Dashboard"}}
		emit("Component", name, md, spec, rels)
	}
	return out
}

func mustBenchIndex(tb testing.TB, n int) (*Index, [][]byte) {
	tb.Helper()
	raws := benchCatalog(n)
	ix := NewIndex()
	require.NoError(tb, ix.PutBatch(raws, nil))
	require.Equal(tb, n, ix.Len())
	return ix, raws
}

func BenchmarkIndexGet(b *testing.B) {
	ix, _ := mustBenchIndex(b, 10000)
	refs := make([]string, 0, 1000)
	for i := range 1000 {
		refs = append(refs, fmt.Sprintf("component:default/component-%06d", i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := ix.Get(refs[i%len(refs)]); !ok {
				b.Fatal("missing entity")
			}
			i++
		}
	})
}

func BenchmarkIndexQueryFiltered(b *testing.B) {
	ix, _ := mustBenchIndex(b, 10000)
	f, err := ParseFilterParams([]string{"kind=component,spec.lifecycle=production"})
	require.NoError(b, err)
	req := QueryRequest{Filter: f, Limit: 100, LimitSet: true}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := ix.Query(req)
		if err != nil || len(resp.Items) != 100 {
			b.Fatal(err, len(resp.Items))
		}
	}
}

func BenchmarkIndexQueryFilteredNextPage(b *testing.B) {
	ix, _ := mustBenchIndex(b, 10000)
	f, err := ParseFilterParams([]string{"kind=component,spec.lifecycle=production"})
	require.NoError(b, err)
	first, err := ix.Query(QueryRequest{Filter: f, Limit: 100, LimitSet: true})
	require.NoError(b, err)
	req := QueryRequest{Cursor: first.NextCursor, Limit: 100, LimitSet: true}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if resp, err := ix.Query(req); err != nil || len(resp.Items) != 100 {
			b.Fatal(err)
		}
	}
}

func BenchmarkIndexQuerySortedFullText(b *testing.B) {
	ix, _ := mustBenchIndex(b, 10000)
	req := QueryRequest{OrderFields: []OrderField{{Field: "metadata.name"}}, FullTextTerm: "component-00", Limit: 20, LimitSet: true}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := ix.Query(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIndexFacets(b *testing.B) {
	ix, _ := mustBenchIndex(b, 10000)
	f, err := ParseFilterParams([]string{"kind=component"})
	require.NoError(b, err)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ix.Facets([]string{"spec.lifecycle", "metadata.tags", "spec.owner"}, f)
	}
}

// BenchmarkIndexPutBatch10k measures ingest of a whole 10k catalog and reports the heap the index
// keeps for it.
func BenchmarkIndexPutBatch10k(b *testing.B) {
	raws := benchCatalog(10000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ix := NewIndex()
		if err := ix.PutBatch(raws, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	heap := retainedHeap(func() any {
		ix := NewIndex()
		if err := ix.PutBatch(raws, nil); err != nil {
			b.Fatal(err)
		}
		return ix
	})
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
}

// BenchmarkIndexPutBatchReplace10k re-stitches a whole 10k catalog into a full index, every entity
// with a changed annotation.
func BenchmarkIndexPutBatchReplace10k(b *testing.B) {
	raws := benchCatalog(10000)
	changed := make([][]byte, len(raws))
	for i, raw := range raws {
		changed[i] = []byte(strings.Replace(string(raw), `"annotations":{`, `"annotations":{"x":"y",`, 1))
	}
	ix := NewIndex()
	require.NoError(b, ix.PutBatch(raws, nil))
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		next := changed
		if i%2 == 1 {
			next = raws
		}
		if err := ix.PutBatch(next, nil); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkIndexDeleteBatch5k removes half of a 10k catalog in one batch, as unregistering a big
// location does, and puts it back.
func BenchmarkIndexDeleteBatch5k(b *testing.B) {
	raws := benchCatalog(10000)
	var uids []string
	var back [][]byte
	for i, raw := range raws {
		if i%2 == 0 {
			var e Entity
			require.NoError(b, json.Unmarshal(raw, &e))
			uids = append(uids, e.UID())
			back = append(back, raw)
		}
	}
	ix := NewIndex()
	require.NoError(b, ix.PutBatch(raws, nil))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := ix.PutBatch(nil, uids); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		require.NoError(b, ix.PutBatch(back, nil))
		b.StartTimer()
	}
}

// BenchmarkIndexPut measures one-at-a-time updates into a full index, the steady-state stitch path.
func BenchmarkIndexPut(b *testing.B) {
	ix, raws := mustBenchIndex(b, 10000)
	changed := make([][]byte, 0, 1000)
	for i, raw := range raws[:1000] {
		var e map[string]any
		require.NoError(b, json.Unmarshal(raw, &e))
		e["metadata"].(map[string]any)["etag"] = fmt.Sprint("changed-", i)
		changed = append(changed, mustJSON(b, e))
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		// Alternate between the two versions so that every put is a real change.
		raw := changed[i%len(changed)]
		if i/len(changed)%2 == 1 {
			raw = raws[i%len(changed)]
		}
		if err := ix.Put(raw); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// retainedHeap is the live heap that build's result keeps, measured around two full GCs.
func retainedHeap(build func() any) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	keep := build()
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(keep)
	if after.HeapAlloc < before.HeapAlloc {
		return 0
	}
	return after.HeapAlloc - before.HeapAlloc
}

func TestIndexMemoryFor10kEntities(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 10k-entity catalog")
	}
	raws := benchCatalog(10000)
	rawBytes := 0
	for _, r := range raws {
		rawBytes += len(r)
	}
	heap := retainedHeap(func() any {
		ix := NewIndex()
		require.NoError(t, ix.PutBatch(raws, nil))
		return ix
	})
	t.Logf("10k entities: %.1f MiB of JSON, index heap %.1f MiB", float64(rawBytes)/(1<<20), float64(heap)/(1<<20))
	// The process budget is 150 MiB resident; the index must leave most of it to everything else.
	require.Less(t, heap, uint64(64<<20))
}
