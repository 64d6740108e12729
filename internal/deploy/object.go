package deploy

import (
	"encoding/json"
	"strings"
)

// Object is a Kubernetes object in its JSON form (what encoding/json gives: map[string]any, []any, string,
// float64 or int64, bool, nil). Keeping objects generic keeps client-go out of the domain.
type Object map[string]any

// APIVersion returns apiVersion.
func (o Object) APIVersion() string { s, _ := o["apiVersion"].(string); return s }

// Kind returns kind.
func (o Object) Kind() string { s, _ := o["kind"].(string); return s }

// Metadata returns metadata, or nil.
func (o Object) Metadata() map[string]any { m, _ := o["metadata"].(map[string]any); return m }

// Name returns metadata.name.
func (o Object) Name() string { s, _ := o.Metadata()["name"].(string); return s }

// Namespace returns metadata.namespace.
func (o Object) Namespace() string { s, _ := o.Metadata()["namespace"].(string); return s }

// Key names the object for messages: Kind/namespace/name.
func (o Object) Key() string {
	if ns := o.Namespace(); ns != "" {
		return o.Kind() + "/" + ns + "/" + o.Name()
	}
	return o.Kind() + "/" + o.Name()
}

// Path returns the value at a dotted path ("status.observedGeneration"), or nil.
func (o Object) Path(path string) any {
	var cur any = map[string]any(o)
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// Int returns the number at path, or 0.
func (o Object) Int(path string) int64 {
	switch v := o.Path(path).(type) {
	case float64:
		return int64(v)
	case int64:
		return v
	case int:
		return int64(v)
	case int32:
		return int64(v)
	case json.Number:
		n, _ := v.Int64()
		return n
	}
	return 0
}

// String returns the string at path, or "".
func (o Object) String(path string) string { s, _ := o.Path(path).(string); return s }

// Clone returns a deep copy (through JSON, which is also what normalises number types).
func (o Object) Clone() Object {
	data, err := json.Marshal(o)
	if err != nil {
		return Object{}
	}
	var out Object
	_ = json.Unmarshal(data, &out)
	return out
}
