package techdocs

import (
	"path"
	"sort"
	"strings"

	"github.com/billpay/portal/internal/errs"
)

// NavItem is one entry of a site's navigation: a page (Src and URL, which is "" for the home
// page), an external link (URL only, External set), or a section (Children).
type NavItem struct {
	Title    string    `json:"title"`
	URL      string    `json:"url"`
	Src      string    `json:"src,omitempty"`
	External bool      `json:"external,omitempty"`
	Children []NavItem `json:"children,omitempty"`
}

// pageStem is mkdocs' File.name: the file name without extension, with README counted as index.
func pageStem(src string) string {
	base := path.Base(src)
	stem := strings.TrimSuffix(base, path.Ext(base))
	if stem == "README" || stem == "readme" {
		return "index"
	}
	return stem
}

// pageURL is mkdocs' url for a page: "foo.md" → "foo/", "dir/index.md" → "dir/", "index.md" → ""
// with directory URLs; "foo.html" and "dir/index.html" without.
func pageURL(src string, dirURLs bool) (url, output string) {
	dir := path.Dir(src)
	if dir == "." {
		dir = ""
	} else {
		dir += "/"
	}
	stem := pageStem(src)
	switch {
	case stem == "index":
		return dir, dir + "index.html"
	case dirURLs:
		return dir + stem + "/", dir + stem + "/index.html"
	default:
		return dir + stem + ".html", dir + stem + ".html"
	}
}

// titleFromName is mkdocs' fallback title (and dirname_to_title for sections): dashes and
// underscores become spaces, and an all-lowercase result is capitalized.
func titleFromName(name string) string {
	t := strings.NewReplacer("-", " ", "_", " ").Replace(name)
	if strings.ToLower(t) == t && t != "" {
		return strings.ToUpper(t[:1]) + t[1:]
	}
	return t
}

// sortPages orders pages as mkdocs' file_sort_key does: by parent directories, then index pages
// first, then by file name; every comparison is case-sensitive.
func sortPages(pages []*Page) {
	sort.SliceStable(pages, func(i, j int) bool {
		a, b := strings.Split(pages[i].Src, "/"), strings.Split(pages[j].Src, "/")
		da, db := a[:len(a)-1], b[:len(b)-1]
		for k := 0; k < len(da) && k < len(db); k++ {
			if da[k] != db[k] {
				return da[k] < db[k]
			}
		}
		if len(da) != len(db) {
			return len(da) < len(db)
		}
		ia, ib := pageStem(pages[i].Src) == "index", pageStem(pages[j].Src) == "index"
		if ia != ib {
			return ia
		}
		return a[len(a)-1] < b[len(b)-1]
	})
}

// deriveNav builds the navigation mkdocs builds when mkdocs.yml has no nav (nest_paths): pages in
// file_sort_key order, nested by directory, sections titled from directory names and merged when
// two directories give the same title.
func deriveNav(sorted []*Page) []NavItem {
	var root []NavItem
	for _, pg := range sorted {
		branch := &root
		dir := path.Dir(pg.Src)
		if dir != "." {
			for _, part := range strings.Split(dir, "/") {
				title := titleFromName(part)
				found := -1
				for i := range *branch {
					if (*branch)[i].Src == "" && (*branch)[i].URL == "" && (*branch)[i].Title == title {
						found = i
						break
					}
				}
				if found < 0 {
					*branch = append(*branch, NavItem{Title: title})
					found = len(*branch) - 1
				}
				branch = &(*branch)[found].Children
			}
		}
		*branch = append(*branch, NavItem{Title: pg.Title, URL: pg.URL, Src: pg.Src})
	}
	return root
}

// resolveNav turns the nav of mkdocs.yml into items. Paths are relative to docs_dir; one that
// leaves it is refused with errs.Invalid, and one that names no page is a warning, as in mkdocs.
func resolveNav(entries []NavEntry, idx *siteIndex, cfgFile string, diags *[]Diagnostic) ([]NavItem, error) {
	var out []NavItem
	for _, e := range entries {
		switch {
		case e.Children != nil:
			children, err := resolveNav(e.Children, idx, cfgFile, diags)
			if err != nil {
				return nil, err
			}
			out = append(out, NavItem{Title: e.Title, Children: children})
		case e.Include != "":
			*diags = append(*diags, Diagnostic{File: cfgFile, Line: e.Line,
				Message: "nav: !include " + e.Include + " (monorepo plugin) is not supported; entry skipped"})
		case e.URL != "":
			out = append(out, NavItem{Title: e.Title, URL: e.URL, External: true})
		default:
			p := strings.ReplaceAll(e.Path, `\`, "/")
			if strings.HasPrefix(p, "/") {
				return nil, errs.E(errs.Invalid, "%s:%d: nav entry %q is an absolute path", cfgFile, e.Line, e.Path)
			}
			clean := path.Clean(p)
			if clean == ".." || strings.HasPrefix(clean, "../") {
				return nil, errs.E(errs.Invalid, "%s:%d: nav entry %q leaves the docs directory", cfgFile, e.Line, e.Path)
			}
			pg, ok := idx.pages[clean]
			if !ok {
				*diags = append(*diags, Diagnostic{File: cfgFile, Line: e.Line,
					Message: "nav: " + e.Path + " is not among the documentation files"})
				continue
			}
			if e.Title != "" && pg.navTitle == "" {
				pg.navTitle = e.Title
			}
			out = append(out, NavItem{Title: e.Title, URL: pg.URL, Src: pg.Src})
		}
	}
	return out, nil
}

// fillNavTitles gives page items without a title in nav the page's own title.
func fillNavTitles(items []NavItem, idx *siteIndex) {
	for i := range items {
		if items[i].Src != "" && items[i].Title == "" {
			items[i].Title = idx.pages[items[i].Src].Title
		}
		fillNavTitles(items[i].Children, idx)
	}
}

// navOrder lists the nav's pages depth-first, for previous/next links.
func navOrder(items []NavItem, out []string) []string {
	for _, it := range items {
		if it.Src != "" {
			out = append(out, it.Src)
		}
		out = navOrder(it.Children, out)
	}
	return out
}
