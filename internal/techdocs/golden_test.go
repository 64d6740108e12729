package techdocs

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGoldenFeatures builds testdata/features, a site using every feature techdocs-core offers,
// and compares every output file, plus the warnings, with testdata/golden/features. Run with
// -update after an intended change and review the diff.
func TestGoldenFeatures(t *testing.T) {
	site := MustBuild(t, os.DirFS("testdata/features"), Options{})
	dir := filepath.Join("testdata", "golden", "features")
	got := map[string][]byte{}
	for _, name := range site.Files() {
		b, err := site.ReadFile(name)
		require.NoError(t, err)
		if strings.HasSuffix(name, ".json") {
			var v any
			require.NoError(t, json.Unmarshal(b, &v), name)
			b, _ = json.MarshalIndent(v, "", "  ")
			b = append(b, '\n')
		}
		got[name] = b
	}
	got["warnings.txt"] = []byte(strings.Join(warningStrings(site), "\n") + "\n")
	if *update {
		require.NoError(t, os.RemoveAll(dir))
		for name, b := range got {
			p := filepath.Join(dir, filepath.FromSlash(name))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, b, 0o644))
		}
	}
	var want []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			want = append(want, filepath.ToSlash(rel))
		}
		return err
	}))
	var gotNames []string
	for name := range got {
		gotNames = append(gotNames, name)
	}
	assert.ElementsMatch(t, want, gotNames, "output files")
	for name, b := range got {
		exp, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			continue
		}
		if !bytes.Equal(exp, b) {
			t.Errorf("%s differs from its golden file (run go test -update and review the diff):\n%s", name, b)
		}
	}
}
