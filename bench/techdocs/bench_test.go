package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/billpay/portal/internal/techdocs"
)

// BenchmarkBuild1000 builds the generated 1,000-page site in memory (no output written).
func BenchmarkBuild1000(b *testing.B) {
	dir := b.TempDir()
	if _, err := generate(dir, 1000, 42); err != nil {
		b.Fatal(err)
	}
	src := os.DirFS(dir)
	for b.Loop() {
		site, err := techdocs.Build(context.Background(), src, techdocs.Options{Etag: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if len(site.Warnings) > 0 {
			b.Fatalf("unexpected warnings: %v", site.Warnings[0])
		}
	}
}

// BenchmarkRebuildOnePageChanged is the server's common case: one page edited, the rest taken
// from the previous build's cache.
func BenchmarkRebuildOnePageChanged(b *testing.B) {
	dir := b.TempDir()
	if _, err := generate(dir, 1000, 42); err != nil {
		b.Fatal(err)
	}
	src := os.DirFS(dir)
	first, err := techdocs.Build(context.Background(), src, techdocs.Options{Etag: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	page := filepath.Join(dir, "docs", "section-00", "page-000.md")
	for i := 0; b.Loop(); i++ {
		if err := os.WriteFile(page, []byte("# Edited "+string(rune('a'+i%26))+"\n"), 0o644); err != nil {
			b.Fatal(err)
		}
		site, err := techdocs.Build(context.Background(), src, techdocs.Options{Etag: "bench", Cache: first.Cache})
		if err != nil {
			b.Fatal(err)
		}
		if len(site.Rendered) != 1 {
			b.Fatalf("rendered %d pages, want 1", len(site.Rendered))
		}
	}
}

func TestGeneratedSiteBuildsCleanly(t *testing.T) {
	dir := t.TempDir()
	n, err := generate(dir, 40, 1)
	if err != nil {
		t.Fatal(err)
	}
	if n/40 < 4000 {
		t.Fatalf("pages average %d bytes, want about 5 KB", n/40)
	}
	site, err := techdocs.Build(context.Background(), os.DirFS(dir), techdocs.Options{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(site.Pages) != 41 {
		t.Fatalf("built %d pages, want 41", len(site.Pages))
	}
}
