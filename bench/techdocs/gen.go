package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// mkdocsYML is the configuration both builders read: techdocs-core 1.7's theme and extension
// list as far as Debian packages it (no graphviz, plantuml, truly_sane_lists, monorepo or
// gh-admonitions), so mkdocs does the work a TechDocs build does.
const mkdocsYML = `site_name: Generated benchmark site
site_description: 1,000 generated pages of about 5 KB
theme:
  name: material
  features:
    - navigation.footer
    - content.action.edit
plugins:
  - search
markdown_extensions:
  - toc:
      permalink: true
  - admonition
  - pymdownx.details
  - pymdownx.tabbed:
      alternate_style: true
  - pymdownx.caret
  - pymdownx.critic
  - pymdownx.emoji:
      emoji_index: !!python/name:pymdownx.emoji.twemoji
      emoji_generator: !!python/name:pymdownx.emoji.to_svg
  - pymdownx.inlinehilite
  - pymdownx.magiclink
  - pymdownx.mark
  - pymdownx.smartsymbols
  - pymdownx.snippets
  - pymdownx.highlight:
      linenums: true
  - pymdownx.extra:
      pymdownx.betterem:
        smart_enable: all
  - pymdownx.tasklist:
      custom_checkbox: true
  - pymdownx.tilde
`

var words = strings.Fields(`payment ledger invoice customer account balance settlement refund gateway
token session cluster replica rollout canary latency throughput queue event stream schedule retry
timeout budget alert dashboard runbook owner service endpoint request response schema migration
index cache region zone deploy release version build artifact image registry secret policy role`)

var langs = []struct{ name, code string }{
	{"python", "def handle(event):\n    total = sum(item.amount for item in event.items)\n    if total > LIMIT:\n        raise ValueError(\"over limit\")\n    return {\"status\": \"ok\", \"total\": total}\n"},
	{"go", "func (s *Service) Charge(ctx context.Context, req ChargeRequest) (*Receipt, error) {\n\tif err := req.Validate(); err != nil {\n\t\treturn nil, err\n\t}\n\treturn s.ledger.Post(ctx, req.Account, req.Amount)\n}\n"},
	{"yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: payment-service\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n        - name: app\n          image: payment:1.4.2\n"},
}

// generate writes a docs tree of n pages plus an index into dir, deterministic for a seed: 20
// sections, each page an H1, an admonition, three H2 and three H3 sections with paragraphs, a list,
// a six-row table, three code blocks and relative links (with anchors) to other pages.
func generate(dir string, n int, seed uint64) (int64, error) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	docs := filepath.Join(dir, "docs")
	if err := os.MkdirAll(docs, 0o755); err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(dir, "mkdocs.yml"), []byte(mkdocsYML), 0o644); err != nil {
		return 0, err
	}
	sections := 20
	perSection := (n + sections - 1) / sections
	pagePath := func(i int) string { return fmt.Sprintf("section-%02d/page-%03d.md", i/perSection, i) }
	sentence := func(k int) string {
		var b strings.Builder
		for j := range k {
			w := words[r.IntN(len(words))]
			if j == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			}
			b.WriteString(w)
			if j < k-1 {
				b.WriteByte(' ')
			}
		}
		return b.String() + "."
	}
	var total int64
	var index strings.Builder
	index.WriteString("# Generated benchmark site\n\n")
	for i := range n {
		index.WriteString(fmt.Sprintf("- [Page %d](%s)\n", i, pagePath(i)))
	}
	if err := os.WriteFile(filepath.Join(docs, "index.md"), []byte(index.String()), 0o644); err != nil {
		return 0, err
	}
	for i := range n {
		var b strings.Builder
		title := fmt.Sprintf("Page %d: %s", i, strings.TrimSuffix(sentence(3), "."))
		fmt.Fprintf(&b, "# %s\n\n%s %s %s\n\n", title, sentence(14), sentence(12), sentence(13))
		fmt.Fprintf(&b, "!!! note \"%s\"\n    %s %s\n\n", strings.TrimSuffix(sentence(2), "."), sentence(12), sentence(10))
		for s, h2 := range []string{"Overview", "Operations", "Reference"} {
			fmt.Fprintf(&b, "## %s\n\n", h2)
			fmt.Fprintf(&b, "%s %s %s %s\n\n", sentence(12), sentence(10), sentence(14), sentence(8))
			target := r.IntN(n)
			rel := relPath(pagePath(i), pagePath(target))
			fmt.Fprintf(&b, "See [page %d](%s) and [its operations](%s#operations) for details.\n\n", target, rel, rel)
			for range 4 {
				fmt.Fprintf(&b, "- %s\n", sentence(6))
			}
			b.WriteString("\n")
			fmt.Fprintf(&b, "%s The `%s_%s` setting is **%s** by default. %s %s\n\n", sentence(11),
				words[r.IntN(len(words))], words[r.IntN(len(words))], words[r.IntN(len(words))], sentence(12), sentence(9))
			// Every page repeats "Details", so anchors are de-duplicated (details, details_1, ...).
			fmt.Fprintf(&b, "### Details\n\n%s %s\n\n", sentence(10), sentence(12))
			if s == 1 {
				b.WriteString("| Name | Owner | Tier | Region |\n|---|---|---|---|\n")
				for range 6 {
					fmt.Fprintf(&b, "| %s | team-%s | %d | eu-west-%d |\n", words[r.IntN(len(words))], words[r.IntN(len(words))], 1+r.IntN(3), 1+r.IntN(3))
				}
				b.WriteString("\n")
			}
			// Every page gets its own identifiers, so no two code blocks of the site are equal
			// and nothing is highlighted once for many pages.
			l := langs[s]
			code := strings.NewReplacer("LIMIT", fmt.Sprintf("LIMIT_%d", i), "Charge", fmt.Sprintf("Charge%d", i),
				"payment-service", fmt.Sprintf("%s-service-%d", words[r.IntN(len(words))], i), "3", fmt.Sprint(1+r.IntN(9))).Replace(l.code)
			fmt.Fprintf(&b, "```%s\n%s```\n\n", l.name, code)
		}
		content := b.String()
		p := filepath.Join(docs, filepath.FromSlash(pagePath(i)))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return 0, err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return 0, err
		}
		total += int64(len(content))
	}
	return total, nil
}

func relPath(from, to string) string {
	fd, td := filepath.Dir(from), filepath.Dir(to)
	if fd == td {
		return filepath.Base(to)
	}
	return "../" + filepath.ToSlash(to)
}
