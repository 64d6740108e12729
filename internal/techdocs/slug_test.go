package techdocs

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Expected values are Python-Markdown's markdown.extensions.toc.slugify on the same input (run
// with python3's re and unicodedata, the modules that function uses), and the ids mkdocs 1.4.2
// produced for these headings (shared/reference/techdocs.md).
func TestSlugify(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Section 1 - Intro", "section-1-intro"},
		{"foo_bar baz", "foo_bar-baz"},
		{"Café au lait", "cafe-au-lait"},
		{"Ünïcödé Straße", "unicode-strae"},
		{"What's new?", "whats-new"},
		{"C++ & Go clients", "c-go-clients"},
		{"Q&A: why escalate?", "qa-why-escalate"},
		{"Copyright (c) notes", "copyright-c-notes"},
		{"Version 2.0.1", "version-201"},
		{"HTTP 4xx/5xx errors", "http-4xx5xx-errors"},
		{"100% uptime?", "100-uptime"},
		{"  Leading and trailing  ", "leading-and-trailing"},
		{"a\x1cb", "a-b"},
		{"tab\there", "tab-here"},
		{"--dashes--", "-dashes-"},
		{"Über_cool -- API", "uber_cool-api"},
		{"ﬁ ligature ①", "fi-ligature-1"},
		{"Ω omega", "omega"},
		{"x\u00a0y", "x-y"},
		{"日本語 サポート", ""},
		{"", ""},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			assert.Equal(t, c.want, Slugify(c.in, "-"))
		})
	}
}

func TestSlugifyUnicode(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Café au lait", "café-au-lait"},
		{"日本語 サポート", "日本語-サポート"},
		{"Поддержка клиентов!", "поддержка-клиентов"},
		{"Ω omega", "ω-omega"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, SlugifyUnicode(c.in, "-"), c.in)
	}
	assert.Equal(t, "a_-_b", Slugify("a - b", "_"), "a separator other than '-' keeps '-' as a character")
}

// TestUniqueIDs follows toc.unique: duplicates get _1, _2, an id already ending in _<n> is bumped,
// and an empty slug becomes _1.
func TestUniqueIDs(t *testing.T) {
	ids := idSet{}
	got := []string{ids.unique("setup"), ids.unique("setup"), ids.unique("setup_1"), ids.unique(""), ids.unique(""), ids.unique("x_9")}
	assert.Equal(t, []string{"setup", "setup_1", "setup_2", "_1", "_2", "x_9"}, got)
	ids["v_3"] = true
	assert.Equal(t, "v_4", ids.unique("v_3"))
}

// pythonSlugify is Python-Markdown's slugify, verbatim, fed one JSON-escaped string per line.
const pythonSlugify = `
import re, sys, unicodedata, json
def slugify(value, separator):
    value = unicodedata.normalize('NFKD', value)
    value = value.encode('ascii', 'ignore').decode('ascii')
    value = re.sub(r'[^\w\s-]', '', value).strip().lower()
    return re.sub(r'[{}\s]+'.format(separator), separator, value)
for line in sys.stdin:
    print(json.dumps(slugify(json.loads(line), '-')))
`

// TestSlugifyMatchesPython cross-checks random headings against the Python algorithm itself when
// python3 is installed, covering characters no hand-written table thinks of.
func TestSlugifyMatchesPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	alphabet := []rune("aZ09_- \t\n\x1c\x1f.,:;!?'\"()[]{}<>/\\&%$#@*+=~^`|éÉüßçñøÆœĳﬁ①²½Ω日本語Пд\u00a0\u2003\u200b\u0301\u2028")
	r := rand.New(rand.NewPCG(1, 2))
	var inputs []string
	var stdin bytes.Buffer
	for range 2000 {
		n := r.IntN(24)
		var b strings.Builder
		for range n {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		inputs = append(inputs, b.String())
		stdin.WriteString(jsonString(b.String()) + "\n")
	}
	cmd := exec.Command(py, "-c", pythonSlugify)
	cmd.Stdin = &stdin
	out, err := cmd.Output()
	require.NoError(t, err)
	sc := bufio.NewScanner(bytes.NewReader(out))
	for i := 0; sc.Scan(); i++ {
		want := unJSONString(t, sc.Text())
		require.Equal(t, want, Slugify(inputs[i], "-"), "input %q", inputs[i])
	}
}
