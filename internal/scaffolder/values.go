package scaffolder

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// Template entities, task specs and parameter values are kept as nunjucks values (*nunjucks.Object
// for objects) rather than Go maps, because key order is visible to templates: `dump`, `each` over an
// object and `for k, v in obj` all follow it, as they do in Backstage where every value is a
// JavaScript object.

// ParseYAMLValue reads the first YAML document of data as an ordered value. Timestamps stay strings
// and numbers become float64, as the catalog reads entities.
func ParseYAMLValue(data []byte) (any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "invalid YAML: %v", err)
	}
	return yamlNodeValue(&doc, 0)
}

func yamlNodeValue(n *yaml.Node, depth int) (any, error) {
	if depth > 200 {
		return nil, errs.E(errs.Invalid, "YAML nested more than 200 levels deep (line %d)", n.Line)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return yamlNodeValue(n.Content[0], depth+1)
	case yaml.AliasNode:
		return yamlNodeValue(n.Alias, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlNodeValue(c, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		o := nunjucks.NewObject(len(n.Content) / 2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			val, err := yamlNodeValue(v, depth+1)
			if err != nil {
				return nil, err
			}
			if k.Tag == "!!merge" {
				merge := func(src any) {
					if so, ok := src.(*nunjucks.Object); ok {
						for _, mk := range so.Keys() {
							if _, exists := o.Get(mk); !exists {
								mv, _ := so.Get(mk)
								o.Set(mk, mv)
							}
						}
					}
				}
				if list, ok := val.([]any); ok {
					for _, e := range list {
						merge(e)
					}
				} else {
					merge(val)
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				return nil, errs.E(errs.Invalid, "line %d: mapping keys must be strings", k.Line)
			}
			o.Set(k.Value, val)
		}
		return o, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, errs.Wrap(errs.Invalid, err, "line %d: %v", n.Line, err)
			}
			return b, nil
		case "!!int", "!!float":
			var f float64
			if err := n.Decode(&f); err != nil {
				// Integers too large for float64 keep their text, as the catalog does.
				return n.Value, nil
			}
			if math.IsInf(f, 0) || math.IsNaN(f) {
				return n.Value, nil
			}
			return f, nil
		default:
			return n.Value, nil
		}
	}
	return nil, errs.E(errs.Invalid, "line %d: unsupported YAML node", n.Line)
}

// ToJSON encodes an engine value as JSON with keys in order.
func ToJSON(v any) ([]byte, error) {
	if o, ok := v.(*nunjucks.Object); ok {
		return o.MarshalJSON()
	}
	s, ok := nunjucks.Dump(v, "")
	if !ok {
		return []byte("null"), nil
	}
	return []byte(s), nil
}

// decodeInto converts an engine value into a Go struct through JSON, as actions read their input.
func decodeInto(v any, dst any) error {
	data, err := ToJSON(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	return dec.Decode(dst)
}

func getString(o *nunjucks.Object, key string) string {
	v, _ := o.Get(key)
	s, _ := v.(string)
	return s
}

func getObject(o *nunjucks.Object, key string) *nunjucks.Object {
	v, _ := o.Get(key)
	obj, _ := v.(*nunjucks.Object)
	return obj
}

// describe prints a value for an error message.
func describe(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	if s, ok := nunjucks.Dump(v, ""); ok {
		if len(s) > 80 {
			s = s[:77] + "..."
		}
		return s
	}
	return fmt.Sprint(v)
}
