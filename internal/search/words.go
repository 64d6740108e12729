package search

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what one query or document contributes, so that a hostile input stays cheap.
const (
	maxQueryWords    = 12
	maxTermLength    = 1000
	maxWordRunes     = 40
	maxVocabPerDoc   = 300
	minVocabRunes    = 3
	minCorrectRunes  = 3
	similarCandidate = 40
	maxCorrections   = 3
)

// stopWords are the words of PostgreSQL's english stop list (the Snowball list). Dropping them in
// Go, before either engine sees the query, makes both engines answer alike: PostgreSQL would drop
// them itself, and SQLite's porter tokenizer would not.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`i me my myself we our ours ourselves you your yours yourself
		yourselves he him his himself she her hers herself it its itself they them their theirs
		themselves what which who whom this that these those am is are was were be been being have
		has had having do does did doing a an the and but if or because as until while of at by for
		with about against between into through during before after above below to from up down in
		out on off over under again further then once here there when where why how all any both
		each few more most other some such no nor not only own same so than too very s t can will
		just don should now`) {
		m[w] = true
	}
	return m
}()

// Words splits text into lowercased runs of letters and digits, the way both engines' tokenizers
// split it: "payment-service" is "payment" and "service".
func Words(text string) []string {
	var out []string
	start := -1
	for i, r := range text {
		word := unicode.IsLetter(r) || unicode.IsDigit(r)
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			out = append(out, strings.ToLower(text[start:i]))
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, strings.ToLower(text[start:]))
	}
	return out
}

// queryWords are the words of a query that count: no stop words, none too long to be a word, at
// most maxQueryWords of them.
func queryWords(term string) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range Words(term) {
		if stopWords[w] || seen[w] || utf8.RuneCountInString(w) > maxWordRunes {
			continue
		}
		seen[w] = true
		out = append(out, w)
		if len(out) == maxQueryWords {
			break
		}
	}
	return out
}

// Vocabulary returns the words of d that typo correction may suggest: those of its title, names
// and headings, where people look for names. Body text is left out, so the vocabulary stays the
// size of the catalog's names rather than of all prose.
func Vocabulary(d Document) []string {
	seen := map[string]bool{}
	var out []string
	for _, text := range []string{d.Title, d.Names, d.Headings} {
		for _, w := range Words(text) {
			n := utf8.RuneCountInString(w)
			if n < minVocabRunes || n > maxWordRunes || stopWords[w] || seen[w] || isNumber(w) {
				continue
			}
			seen[w] = true
			out = append(out, w)
			if len(out) == maxVocabPerDoc {
				return out
			}
		}
	}
	return out
}

func isNumber(w string) bool {
	for _, r := range w {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// Trigrams returns the distinct trigrams of a word as PostgreSQL's pg_trgm makes them: the word
// padded with two spaces in front and one behind, so that beginnings weigh more than endings.
func Trigrams(word string) []string {
	r := []rune("  " + word + " ")
	seen := map[string]bool{}
	var out []string
	for i := 0; i+3 <= len(r); i++ {
		g := string(r[i : i+3])
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out
}

// similarity is the share of trigrams two words have in common (pg_trgm's similarity).
func similarity(a, b string) float64 {
	ga, gb := Trigrams(a), Trigrams(b)
	in := map[string]bool{}
	for _, g := range ga {
		in[g] = true
	}
	shared := 0
	for _, g := range gb {
		if in[g] {
			shared++
		}
	}
	union := len(ga) + len(gb) - shared
	if union == 0 {
		return 0
	}
	return float64(shared) / float64(union)
}

// editDistance is the optimal string alignment distance: insertions, deletions, substitutions
// and transpositions of adjacent letters each cost one, which are the slips of a person typing.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// maxEdits is how far a word may be from a vocabulary word to be corrected to it: one slip in a
// short word, two in a longer one.
func maxEdits(word string) int {
	if utf8.RuneCountInString(word) >= 7 {
		return 2
	}
	return 1
}
