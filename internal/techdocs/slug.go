package techdocs

import (
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Slugify turns heading text into an anchor exactly as Python-Markdown's toc extension does
// (markdown.extensions.toc.slugify), because links written for mkdocs ("page.md#some-heading")
// must keep working: NFKD-normalize, drop what is not ASCII, remove characters outside [\w\s-],
// strip, lowercase, and collapse runs of separators and whitespace into one separator.
func Slugify(text, sep string) string {
	return slugify(text, sep, false)
}

// SlugifyUnicode is Python-Markdown's slugify_unicode: the same steps without the ASCII folding,
// chosen in mkdocs.yml with `slugify: !!python/name:markdown.extensions.toc.slugify_unicode`.
func SlugifyUnicode(text, sep string) string {
	return slugify(text, sep, true)
}

func slugify(text, sep string, keepUnicode bool) string {
	if !keepUnicode {
		text = norm.NFKD.String(text)
	}
	var b strings.Builder
	b.Grow(len(text))
	for _, r := range text {
		switch {
		case r < 0x80:
			if isPyWord(r) || isPySpace(r) || r == '-' {
				b.WriteRune(r)
			}
		case keepUnicode && (unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsSpace(r)):
			b.WriteRune(r)
		}
	}
	value := strings.ToLower(strings.TrimFunc(b.String(), isPyStripSpace))
	// re.sub(r'[{sep}\s]+', sep, value): every run made of separator characters and whitespace.
	var out strings.Builder
	out.Grow(len(value))
	inRun := false
	for _, r := range value {
		if isPySpace(r) || (keepUnicode && unicode.IsSpace(r)) || strings.ContainsRune(sep, r) {
			if !inRun {
				out.WriteString(sep)
				inRun = true
			}
			continue
		}
		inRun = false
		out.WriteRune(r)
	}
	return out.String()
}

// isPyWord is Python's \w restricted to ASCII, which is all that is left after the ASCII folding.
func isPyWord(r rune) bool {
	return r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
}

// isPySpace is Python's \s (and str.isspace) on ASCII: it includes the four information
// separators 0x1C-0x1F, which Go's unicode.IsSpace does not.
func isPySpace(r rune) bool {
	return (0x09 <= r && r <= 0x0d) || (0x1c <= r && r <= 0x1f) || r == ' '
}

func isPyStripSpace(r rune) bool {
	return isPySpace(r) || (r >= 0x80 && unicode.IsSpace(r))
}

// idSet hands out unique anchors the way Python-Markdown's toc.unique does: a taken or empty id
// gets "_1", and an id that already ends in "_<n>" is bumped to "_<n+1>", so a second "Setup"
// is "setup_1" and a heading literally named "Setup_1" after it becomes "setup_2".
type idSet map[string]bool

func (s idSet) unique(id string) string {
	for id == "" || s[id] {
		if base, n, ok := splitCount(id); ok {
			id = base + "_" + strconv.Itoa(n+1)
		} else {
			id += "_1"
		}
	}
	s[id] = true
	return id
}

// splitCount matches Python-Markdown's IDCOUNT_RE, ^(.*)_([0-9]+)$.
func splitCount(id string) (string, int, bool) {
	i := strings.LastIndexByte(id, '_')
	if i < 0 || i == len(id)-1 {
		return "", 0, false
	}
	digits := id[i+1:]
	for _, c := range digits {
		if c < '0' || c > '9' {
			return "", 0, false
		}
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		// More digits than an int holds: Python would keep counting; so do we, from a number that
		// still makes the id unique.
		return id, 0, true
	}
	return id[:i], n, true
}
