package scaffolder_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// TestRenderMatchesBackstage compares Templater.Render with Backstage's own render() run on real
// nunjucks (testdata/gen_render.js produced testdata/render.golden.json).
func TestRenderMatchesBackstage(t *testing.T) {
	data, err := os.ReadFile("testdata/render.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Context json.RawMessage `json:"context"`
		Results []struct {
			Input   string          `json:"input"`
			Output  json.RawMessage `json:"output"`
			Dropped bool            `json:"dropped"`
		} `json:"results"`
	}
	if err := json.Unmarshal(data, &golden); err != nil {
		t.Fatal(err)
	}
	vars, err := nunjucks.ParseJSONBytes(golden.Context)
	if err != nil {
		t.Fatal(err)
	}
	tr := scaffolder.NewTemplater(scaffolder.TemplaterOptions{})
	for _, c := range golden.Results {
		t.Run(c.Input, func(t *testing.T) {
			got, _, err := tr.Render(context.Background(), nunjucks.ObjectOf("v", c.Input), vars.(*nunjucks.Object))
			if err != nil {
				t.Fatal(err)
			}
			want, err := nunjucks.ParseJSONBytes(c.Output)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := toJSON(t, got), toJSON(t, want); g != w {
				t.Fatalf("\n got %s\nwant %s", g, w)
			}
		})
	}
}
