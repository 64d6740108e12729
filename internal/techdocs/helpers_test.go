package techdocs

import (
	"context"
	"encoding/json"
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"
)

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func unJSONString(t *testing.T, s string) string {
	t.Helper()
	var out string
	require.NoError(t, json.Unmarshal([]byte(s), &out))
	return out
}

var fixedNow = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

// MustBuild builds src with a fixed clock and etag so outputs are reproducible.
func MustBuild(t *testing.T, src fs.FS, opts Options) *Site {
	t.Helper()
	if opts.Now == nil {
		opts.Now = fixedNow
	}
	if opts.Etag == "" {
		opts.Etag = "test-etag"
	}
	site, err := Build(context.Background(), src, opts)
	require.NoError(t, err)
	return site
}

// mapFS builds an fstest.MapFS from path → content.
func mapFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, content := range files {
		m[name] = &fstest.MapFile{Data: []byte(content)}
	}
	return m
}

func mustRead(t *testing.T, site *Site, name string) string {
	t.Helper()
	b, err := site.ReadFile(name)
	require.NoError(t, err, name)
	return string(b)
}

func warningStrings(site *Site) []string {
	var out []string
	for _, w := range site.Warnings {
		out = append(out, w.String())
	}
	return out
}
