package processing

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/catalog/source"
)

var everyKind = []Rule{{Allow: []string{"Component", "API", "Resource", "System", "Domain", "Group", "User", "Location", "Template"}}}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

// fromFile is an entity as a Location read it from path, with the origin set to origin.
func fromFile(t *testing.T, yamlText, path, origin string) Claim {
	t.Helper()
	docs := catalog.ParseDocuments([]byte(yamlText))
	require.Len(t, docs, 1)
	require.NoError(t, docs[0].Err)
	e := docs[0].Entity
	e.SetAnnotation(catalog.AnnotationManagedByLocation, "file:"+path)
	e.SetAnnotation(catalog.AnnotationManagedByOriginLocation, "file:"+origin)
	return Claim{EntityRef: e.Ref().String(), Unprocessed: e}
}

func messages(r Result) string {
	var out []string
	for _, e := range r.Errors {
		out = append(out, e.Message)
	}
	return strings.Join(out, "\n")
}

const apiHead = "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: payments}\nspec:\n  type: openapi\n  lifecycle: production\n  owner: team\n"

func TestProcessorPlaceholders(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"api/openapi.yaml": "openapi: 3.0.0\ninfo: {title: Payments}\n",
		"api/schema.json":  `{"type": "object", "properties": {"id": {"type": "string"}}}`,
		"api/extra.yaml":   "servers:\n  - url: https://pay.example.com\n",
		"api/two.yaml":     "a: 1\n---\nb: 2\n",
	})
	p := &Processor{Reader: source.FileReader{}, Rules: everyKind}
	entityPath := filepath.Join(dir, "api", "catalog-info.yaml")
	origin := filepath.Join(dir, "all.yaml")

	t.Run("$text, $json and $yaml are replaced by the files they name", func(t *testing.T) {
		c := fromFile(t, apiHead+"  definition: {$text: ./openapi.yaml}\n  schema: {$json: ./schema.json}\n  extra: {$yaml: ./extra.yaml}\n  ref: {$ref: '#/not/a/placeholder'}\n", entityPath, origin)
		r := p.Process(context.Background(), c)
		require.Empty(t, r.Errors, messages(r))
		spec := r.Processed.Spec()
		require.Equal(t, "openapi: 3.0.0\ninfo: {title: Payments}\n", spec["definition"])
		require.Equal(t, map[string]any{"type": "object", "properties": map[string]any{"id": map[string]any{"type": "string"}}}, spec["schema"])
		require.Equal(t, map[string]any{"servers": []any{map[string]any{"url": "https://pay.example.com"}}}, spec["extra"])
		require.Equal(t, map[string]any{"$ref": "#/not/a/placeholder"}, spec["ref"], "unknown $ keys are data")
		require.Contains(t, r.RefreshKeys, "file:"+filepath.Join(dir, "api", "openapi.yaml"))
	})

	t.Run("a missing file is an error on the entity", func(t *testing.T) {
		r := p.Process(context.Background(), fromFile(t, apiHead+"  definition: {$text: ./missing.yaml}\n", entityPath, origin))
		require.Nil(t, r.Processed)
		require.Contains(t, messages(r), "Placeholder $text could not read location ./missing.yaml")
	})

	t.Run("$yaml needs exactly one document", func(t *testing.T) {
		r := p.Process(context.Background(), fromFile(t, apiHead+"  definition: {$yaml: ./two.yaml}\n", entityPath, origin))
		require.Contains(t, messages(r), "exactly one YAML document")
	})

	t.Run("a file outside the origin's directory is refused", func(t *testing.T) {
		r := p.Process(context.Background(), fromFile(t, apiHead+"  definition: {$text: ../../../../etc/passwd}\n", entityPath, origin))
		require.Nil(t, r.Processed)
		require.Contains(t, messages(r), "outside")
	})

	t.Run("an entity from a URL cannot read local files", func(t *testing.T) {
		e := fromFile(t, apiHead+"  definition: {$text: /etc/passwd}\n", entityPath, origin)
		e.Unprocessed.SetAnnotation(catalog.AnnotationManagedByLocation, "url:https://example.com/catalog-info.yaml")
		e.Unprocessed.SetAnnotation(catalog.AnnotationManagedByOriginLocation, "url:https://example.com/catalog-info.yaml")
		network := &recordingReader{}
		p := &Processor{Reader: &source.Dispatcher{File: source.FileReader{}, HTTP: network}, Rules: everyKind}
		r := p.Process(context.Background(), e)
		require.Nil(t, r.Processed)
		require.Equal(t, []string{"https://example.com/etc/passwd"}, network.targets)
		require.Contains(t, messages(r), "could not read location /etc/passwd", "resolved against the URL, never the disk")
	})
}

// recordingReader stands in for the network: it records what was asked and finds nothing.
type recordingReader struct{ targets []string }

func (r *recordingReader) Read(_ context.Context, _, target string) ([]byte, error) {
	r.targets = append(r.targets, target)
	return nil, os.ErrNotExist
}

func TestProcessorLocations(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"all.yaml":      "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: root}\nspec:\n  targets: [./a.yaml, ./missing.yaml]\n",
		"optional.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: opt}\nspec:\n  presence: optional\n  target: ./missing.yaml\n",
		"a.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: svc}\nspec: {type: service, lifecycle: production, owner: team}\n" +
			"---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team}\nspec: {type: team, children: []}\n" +
			"---\nkind: Component\nmetadata: {name: no-api-version}\n",
	})
	root := GeneratedLocation(LocationSpec{Type: "file", Target: filepath.Join(dir, "all.yaml")})
	rootClaim := func(t *testing.T, p *Processor) Result {
		r := p.Process(context.Background(), Claim{EntityRef: root.Ref().String(), Unprocessed: root})
		require.NotNil(t, r.Processed, messages(r))
		require.Len(t, r.Children, 1)
		return p.Process(context.Background(), Claim{EntityRef: "location:default/root", Unprocessed: r.Children[0].Entity})
	}

	t.Run("targets are read, children annotated and bad documents reported", func(t *testing.T) {
		r := rootClaim(t, &Processor{Reader: source.FileReader{}, Rules: everyKind})
		var refs []string
		for _, c := range r.Children {
			refs = append(refs, c.Entity.Ref().String())
			require.Equal(t, "file:"+filepath.Join(dir, "a.yaml"), c.LocationKey)
			require.Equal(t, "file:"+filepath.Join(dir, "a.yaml"), c.Entity.Annotation(catalog.AnnotationManagedByLocation))
			require.Equal(t, "file:"+filepath.Join(dir, "all.yaml"), c.Entity.Annotation(catalog.AnnotationManagedByOriginLocation))
		}
		require.Equal(t, []string{"component:default/svc", "group:default/team"}, refs)
		msgs := messages(r)
		require.Contains(t, msgs, "no apiVersion")
		require.Contains(t, msgs, "missing.yaml")
	})

	t.Run("catalog rules keep kinds out and say how to allow them", func(t *testing.T) {
		r := rootClaim(t, &Processor{Reader: source.FileReader{}, Rules: []Rule{{Allow: []string{"Component", "Location"}}}})
		require.Len(t, r.Children, 1)
		require.Contains(t, messages(r), "group:default/team of kind Group is not allowed")
	})

	t.Run("rules can be given to one origin", func(t *testing.T) {
		origin := "file:" + filepath.Join(dir, "all.yaml")
		r := rootClaim(t, &Processor{Reader: source.FileReader{}, Rules: []Rule{{Allow: []string{"Location"}}, {Allow: []string{"Component", "Group"}, Origins: []string{origin}}}})
		require.Len(t, r.Children, 2)
	})

	t.Run("an optional target may be missing", func(t *testing.T) {
		e := GeneratedLocation(LocationSpec{Type: "file", Target: filepath.Join(dir, "optional.yaml")})
		p := &Processor{Reader: source.FileReader{}, Rules: everyKind}
		r := p.Process(context.Background(), Claim{Unprocessed: e})
		opt := p.Process(context.Background(), Claim{Unprocessed: r.Children[0].Entity})
		require.Empty(t, opt.Errors)
		require.Empty(t, opt.Children)
	})

	t.Run("the result hash changes only when the output does", func(t *testing.T) {
		p := &Processor{Reader: source.FileReader{}, Rules: everyKind}
		a, b := rootClaim(t, p), rootClaim(t, p)
		require.Equal(t, a.Hash, b.Hash)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: svc}\nspec: {type: service, lifecycle: production, owner: other}\n"), 0o644))
		require.NotEqual(t, a.Hash, rootClaim(t, p).Hash)
	})
}

func TestProcessorRelationsAndOrder(t *testing.T) {
	p := &Processor{Reader: source.FileReader{}, Rules: everyKind}
	c := fromFile(t, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: svc, namespace: payments}\nspec:\n  type: service\n  lifecycle: production\n  owner: team\n  providesApis: [zeta, alpha]\n", "/x/c.yaml", "/x/all.yaml")
	r := p.Process(context.Background(), c)
	require.Empty(t, r.Errors, messages(r))
	require.Equal(t, []any{"alpha", "zeta"}, r.Processed.Spec()["providesApis"], "reference lists are stored sorted")
	var owned bool
	for _, e := range r.Edges {
		if e.Type == catalog.RelationOwnedBy {
			owned = true
			require.Equal(t, "group:payments/team", e.Target.String(), "targets default to the entity's namespace")
		}
	}
	require.True(t, owned)

	clash := fromFile(t, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: clash\n  annotations: {a.io/Foo: x, a.io/foo: y}\nspec: {type: service, lifecycle: production, owner: team}\n", "/x/c.yaml", "/x/all.yaml")
	r = p.Process(context.Background(), clash)
	require.Nil(t, r.Processed)
	require.Contains(t, messages(r), "duplicate keys that vary only in casing")

	bad := fromFile(t, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: svc}\nspec: {type: service, lifecycle: production}\n", "/x/c.yaml", "/x/all.yaml")
	r = p.Process(context.Background(), bad)
	require.Nil(t, r.Processed)
	require.Contains(t, messages(r), "Policy check failed for component:default/svc")
}
