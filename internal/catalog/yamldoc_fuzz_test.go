package catalog

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseDocuments feeds arbitrary catalog files through the document splitter, the YAML parser
// and the entity checks: nothing may panic, every document is either an entity or an error, and
// lines stay inside the file.
func FuzzParseDocuments(f *testing.F) {
	for _, seed := range []string{
		"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: a\nspec: {type: service, lifecycle: production, owner: team}\n",
		"---\na: 1\n---\nkind: [broken\n---\n- list\n...\n--- |\n  text\n",
		"a: &x [*x]\n",
		"a: &a [b, b, b]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n",
		"<<: {a: 1}\nb: !!python/object:os.system ls\n",
		"\ufeff--- \r\nkind: X\r\n",
		"key: 1e400\nother: .nan\n",
		"a: &x 1\n---\nb: *x\n",
		"---\n---\n# only a comment\n...\nkind: Y\nmetadata: {name: y}\n",
		"kind: A\n--- !!map\nkind: B\n---\n[1, 2]\n---\n~\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// YAML breaks lines at \n, \r\n and a lone \r.
		lines := strings.Count(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") +
			strings.Count(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r") + 1
		for _, doc := range ParseDocuments(data) {
			if (doc.Entity == nil) == (doc.Err == nil) {
				t.Fatalf("document at line %d is neither an entity nor an error", doc.Line)
			}
			if doc.Line < 1 || doc.Line > lines {
				t.Fatalf("line %d outside a %d-line file", doc.Line, lines)
			}
			if doc.Entity != nil {
				Normalize(doc.Entity)
				if Validate(doc.Entity) == nil {
					_, _ = Relations(doc.Entity)
					_ = doc.Entity.Ref().String()
				}
			}
		}
		_ = ParseDocumentsAny(data)

		// The one-parser path must read a file exactly as a parser per document does.
		if !utf8.Valid(data) {
			return
		}
		whole, ok := parseWhole(data)
		if !ok {
			return
		}
		chunked := parseChunks(data)
		if len(whole) != len(chunked) {
			t.Fatalf("%d documents with one parser, %d with one per document", len(whole), len(chunked))
		}
		for i := range whole {
			w, c := whole[i], chunked[i]
			if w.Line != c.Line || !reflect.DeepEqual(w.Entity, c.Entity) || fmt.Sprint(w.Err) != fmt.Sprint(c.Err) {
				t.Fatalf("document %d differs:\none parser: line %d %v %v\nper document: line %d %v %v", i, w.Line, w.Entity, w.Err, c.Line, c.Entity, c.Err)
			}
		}
	})
}
