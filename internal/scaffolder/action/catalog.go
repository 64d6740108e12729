package action

import (
	"bytes"
	"context"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// CatalogRegistrar is the catalog port of catalog:register. The catalog service implements it.
type CatalogRegistrar interface {
	// AddLocation registers a url location, as POST /locations does, and returns the entities read
	// from it. With dryRun nothing is stored. errs.Conflict when the location exists already.
	AddLocation(ctx context.Context, target string, dryRun bool) ([]catalog.Entity, error)
}

// SourceTemplateAnnotation records which template made an entity.
const SourceTemplateAnnotation = "backstage.io/source-template"

func catalogWrite() scaffolder.Action {
	const id = "catalog:write"
	return &simple{
		info: scaffolder.ActionInfo{
			ID:          id,
			Description: "Writes the catalog-info.yaml for your template",
			Examples:    []scaffolder.ActionExample{{Description: "Write a catalog yaml file", Example: "steps:\n  - action: catalog:write\n    id: create-catalog-info-file\n    name: Create catalog file\n    input:\n      entity:\n        apiVersion: backstage.io/v1alpha1\n        kind: Component\n        metadata:\n          name: test\n          annotations: {}\n        spec:\n          type: service\n          lifecycle: production\n          owner: default/owner\n"}},
			Input: schema(id, "input", `{"type": "object", "required": ["entity"], "additionalProperties": false, "properties": {
				"filePath": {"type": "string", "title": "Catalog file path", "description": "Defaults to catalog-info.yaml"},
				"entity": {"type": "object", "title": "Entity info to write catalog-info.yaml", "description": "You can provide the same values used in the Entity schema."}}}`),
			Output:         schema(id, "output", emptyOutput),
			SupportsDryRun: true,
		},
		run: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			v, _ := ac.Input.Get("entity")
			entity, _ := v.(*nunjucks.Object)
			if entity == nil {
				return errs.E(errs.Invalid, "entity must be an object")
			}
			file := "catalog-info.yaml"
			if fp, ok := ac.Input.Get("filePath"); ok {
				if s, _ := fp.(string); s != "" {
					file = s
				}
			}
			ac.Log("Writing %s", file)
			if ref := ac.TemplateInfo.EntityRef; ref != "" {
				entity = entity.Clone()
				md, _ := entity.Get("metadata")
				mdo, _ := md.(*nunjucks.Object)
				if mdo == nil {
					mdo = nunjucks.NewObject(1)
				} else {
					mdo = mdo.Clone()
				}
				ann, _ := mdo.Get("annotations")
				anno, _ := ann.(*nunjucks.Object)
				if anno == nil {
					anno = nunjucks.NewObject(1)
				} else {
					anno = anno.Clone()
				}
				anno.Set(SourceTemplateAnnotation, ref)
				mdo.Set("annotations", anno)
				entity.Set("metadata", mdo)
			}
			data, err := MarshalYAML(entity)
			if err != nil {
				return err
			}
			return ac.Workspace.WriteFile(file, data, 0o644)
		},
	}
}

// MarshalYAML writes an engine value as block YAML with two-space indentation, keys in order, and
// literal blocks for multi-line strings, as the `yaml` package Backstage uses does.
func MarshalYAML(v any) ([]byte, error) {
	n := yamlNode(v)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "cannot write YAML: %v", err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func yamlNode(v any) *yaml.Node {
	switch x := v.(type) {
	case *nunjucks.Object:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, k := range x.Keys() {
			e, _ := x.Get(k)
			if nunjucks.IsUndefined(e) {
				continue
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, yamlNode(e))
		}
		return n
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, e := range x {
			n.Content = append(n.Content, yamlNode(e))
		}
		return n
	case string:
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: x}
		if strings.Contains(strings.TrimRight(x, "\n"), "\n") {
			n.Style = yaml.LiteralStyle
		}
		return n
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	s, _ := nunjucks.Dump(v, "")
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: s}
	switch v.(type) {
	case bool:
		n.Tag = "!!bool"
	case float64:
		n.Tag = "!!float"
		if !strings.ContainsAny(s, ".eE") {
			n.Tag = "!!int"
		}
	}
	return n
}

func catalogRegister(c CatalogRegistrar) scaffolder.Action {
	const id = "catalog:register"
	return &simple{
		info: scaffolder.ActionInfo{
			ID:          id,
			Description: "Registers entities from a catalog descriptor file in the workspace into the software catalog.",
			Examples:    []scaffolder.ActionExample{{Description: "Register with the catalog", Example: "steps:\n  - action: catalog:register\n    id: register-with-catalog\n    name: Register with the catalog\n    input:\n      catalogInfoUrl: http://github.com/backstage/backstage/blob/master/catalog-info.yaml\n"}},
			Input: schema(id, "input", `{"oneOf": [
				{"type": "object", "required": ["catalogInfoUrl"], "additionalProperties": false, "properties": {
					"catalogInfoUrl": {"type": "string", "title": "Catalog Info URL", "description": "An absolute URL pointing to the catalog info file location"},
					"optional": {"type": "boolean", "title": "Optional", "description": "Permit the registered location to optionally exist. Default: false"}}},
				{"type": "object", "required": ["repoContentsUrl"], "additionalProperties": false, "properties": {
					"repoContentsUrl": {"type": "string", "title": "Repository Contents URL", "description": "An absolute URL pointing to the root of a repository directory tree"},
					"catalogInfoPath": {"type": "string", "title": "Fetch URL", "description": "A relative path from the repo root pointing to the catalog info file, defaults to /catalog-info.yaml"},
					"optional": {"type": "boolean", "title": "Optional", "description": "Permit the registered location to optionally exist. Default: false"}}}]}`),
			Output: schema(id, "output", `{"type": "object", "required": ["catalogInfoUrl"], "properties": {
				"entityRef": {"type": "string"},
				"catalogInfoUrl": {"type": "string"}}}`),
		},
		run: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in struct {
				CatalogInfoURL  string `json:"catalogInfoUrl"`
				RepoContentsURL string `json:"repoContentsUrl"`
				CatalogInfoPath string `json:"catalogInfoPath"`
				Optional        bool   `json:"optional"`
			}
			if err := ac.DecodeInput(&in); err != nil {
				return err
			}
			target := in.CatalogInfoURL
			if target == "" {
				p := in.CatalogInfoPath
				if p == "" {
					p = "/catalog-info.yaml"
				}
				target = strings.TrimSuffix(in.RepoContentsURL, "/") + "/" + strings.TrimPrefix(p, "/")
			}
			ac.Log("Registering %s in the catalog", target)
			if _, err := c.AddLocation(ctx, target, false); err != nil && !in.Optional {
				return err
			}
			entities, err := c.AddLocation(ctx, target, true)
			if err != nil && !in.Optional {
				return err
			}
			if e := mainEntity(entities); e != nil {
				ac.Output("entityRef", e.Ref().String())
			}
			ac.Output("catalogInfoUrl", target)
			return nil
		},
	}
}

// mainEntity picks the entity a template's output links to: the first Component not generated by a
// processor, else the first entity not generated, else the first.
func mainEntity(entities []catalog.Entity) catalog.Entity {
	for _, e := range entities {
		if e.Kind() == "Component" && !strings.HasPrefix(e.Name(), "generated-") {
			return e
		}
	}
	for _, e := range entities {
		if !strings.HasPrefix(e.Name(), "generated-") {
			return e
		}
	}
	if len(entities) > 0 {
		return entities[0]
	}
	return nil
}
