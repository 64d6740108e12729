package flags

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// seedDocuments are the flag documents the repository already holds: the differential fixture, BillPay's seed
// flags, and each of their flags on its own (small documents mutate into more interesting neighbours than one big
// document does).
func seedDocuments(f *testing.F) [][]byte {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "..", "flags", "*.flagd.json"))
	if err != nil {
		f.Fatal(err)
	}
	paths = append(paths, filepath.Join("testdata", "differential.json"))
	var docs [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		docs = append(docs, data)
		var whole struct {
			Flags      map[string]json.RawMessage `json:"flags"`
			Evaluators json.RawMessage            `json:"$evaluators"`
		}
		if err := json.Unmarshal(data, &whole); err != nil {
			f.Fatalf("%s: %v", p, err)
		}
		for key, def := range whole.Flags {
			one := map[string]any{"flags": map[string]json.RawMessage{key: def}}
			if len(whole.Evaluators) > 0 {
				one["$evaluators"] = whole.Evaluators
			}
			b, err := json.Marshal(one)
			if err != nil {
				f.Fatal(err)
			}
			docs = append(docs, b)
		}
	}
	return append(docs,
		[]byte(`{}`), []byte(`{"flags":{}}`), []byte(`null`), []byte(`{"flags":`), []byte(`[]`),
		[]byte(`{"flags":{"f":{"state":"ENABLED","variants":{"a":1},"defaultVariant":""}}}`),
		[]byte(`{"flags":{"f":{"state":"ENABLED","variants":{"a":1},"targeting":{}}}}`),
		[]byte(`{"$evaluators":{"e":{"==":[1,1]}},"flags":{"f":{"state":"DISABLED","variants":{"a":{"x":[1]}},"targeting":{"if":[{"$ref":"e"},"a"]}}}}`),
	)
}

// FuzzParseRoundTrip checks Parse's contract on arbitrary bytes: it never panics, every refusal is a
// *ValidationError with problems, and an accepted document, encoded and parsed again, is accepted and encodes the
// same (so what Portal stores and exports re-validates). FuzzParse in flags_test.go covers the lenient parser
// followed by evaluation.
func FuzzParseRoundTrip(f *testing.F) {
	for _, d := range seedDocuments(f) {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("refusal is %T, not *ValidationError: %v", err, err)
			}
			if len(ve.Problems) == 0 {
				t.Fatal("a ValidationError without problems")
			}
			return
		}
		once, err := json.Marshal(doc)
		if err != nil {
			t.Fatalf("an accepted document does not encode: %v", err)
		}
		again, err := Parse(once)
		if err != nil {
			t.Fatalf("an accepted document is refused after a round trip: %v\nencoded: %s", err, once)
		}
		twice, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once, twice) {
			t.Fatalf("the round trip changed the document:\nfirst:  %s\nsecond: %s", once, twice)
		}
		// Whatever parses must compile.
		Compile(doc)
	})
}
