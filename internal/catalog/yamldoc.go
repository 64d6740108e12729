package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/billpay/portal/internal/errs"
)

// Document is one YAML document of a catalog file, parsed on its own so that a broken document never
// hides the others in the same file.
type Document struct {
	// Line is the 1-based line of the file where the document starts.
	Line int
	// Entity is the parsed document; nil when Err is set or the document is empty.
	Entity Entity
	// Err says why the document could not be read as an entity, with its line in the file.
	Err error
}

// ParseDocuments splits a catalog file into its YAML documents and parses each. Empty documents are
// dropped. Values become what encoding/json would produce, so entities from YAML and from JSON compare
// equal: numbers are float64, timestamps stay strings, keys must be strings.
func ParseDocuments(data []byte) []Document {
	if !utf8.Valid(data) {
		// YAML also allows UTF-16 and UTF-32, but Backstage reads catalog files as UTF-8; say so
		// rather than report garbled lines.
		return []Document{{Line: 1, Err: errs.E(errs.Invalid, "catalog file is not valid UTF-8")}}
	}
	if docs, ok := parseWhole(data); ok {
		return docs
	}
	return parseChunks(data)
}

// parseChunks parses each document of data on its own, so that a syntax error costs only its document.
func parseChunks(data []byte) []Document {
	var docs []Document
	for _, chunk := range splitDocuments(data) {
		root, err := parseChunk(chunk)
		if root == nil && err == nil {
			continue
		}
		if err != nil {
			docs = append(docs, Document{Line: chunk.line, Err: err})
			continue
		}
		docs, _ = appendDocument(docs, root, chunk.line+root.Line-1, &nodeConverter{})
	}
	return docs
}

// parseWhole parses data with one parser, which is a third faster than a parser per document: setting one up
// is most of the cost of a small document. It gives up (false) at a syntax error, which a single parser cannot
// get past, and at an alias to an earlier document's anchor, which a parser per document refuses; parseChunks
// then decides.
func parseWhole(data []byte) ([]Document, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []Document
	for {
		var node yaml.Node
		if err := dec.Decode(&node); err != nil {
			return docs, errors.Is(err, io.EOF)
		}
		if node.Kind == 0 || len(node.Content) == 0 {
			continue
		}
		root := node.Content[0]
		var err error
		if docs, err = appendDocument(docs, root, root.Line, &nodeConverter{firstLine: root.Line}); err != nil {
			return nil, false
		}
	}
}

// errAliasBefore is a converter refusing an alias to an anchor of an earlier document.
var errAliasBefore = errors.New("alias to an anchor of an earlier document")

// appendDocument converts one parsed document starting at line of the file. Its only error is c's
// errAliasBefore; every other problem is the document's.
func appendDocument(docs []Document, root *yaml.Node, line int, c *nodeConverter) ([]Document, error) {
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return docs, nil
	}
	v, err := c.value(root, 0)
	if errors.Is(err, errAliasBefore) {
		return docs, err
	}
	if err != nil {
		return append(docs, Document{Line: line, Err: errs.E(errs.Invalid, "YAML error at line %d: %v", line, err)}), nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return append(docs, Document{Line: line, Err: errs.E(errs.Invalid, "document at line %d is not an object (expected an entity with apiVersion, kind, metadata and spec)", line)}), nil
	}
	return append(docs, Document{Line: line, Entity: Entity(obj)}), nil
}

// parseChunk parses one document; it returns nil and no error for an empty one.
func parseChunk(chunk docChunk) (*yaml.Node, error) {
	var node yaml.Node
	if err := yaml.Unmarshal(chunk.text, &node); err != nil {
		return nil, yamlError(err, chunk.line)
	}
	if node.Kind == 0 || len(node.Content) == 0 {
		return nil, nil
	}
	return node.Content[0], nil
}

// Value is one YAML document parsed to a JSON-shaped value of any type ($yaml placeholders).
type Value struct {
	Value any
	Err   error
}

// ParseDocumentsAny parses every non-empty document of data, whatever its type.
func ParseDocumentsAny(data []byte) []Value {
	if !utf8.Valid(data) {
		return []Value{{Err: errs.E(errs.Invalid, "file is not valid UTF-8")}}
	}
	var out []Value
	for _, chunk := range splitDocuments(data) {
		root, err := parseChunk(chunk)
		if err != nil {
			out = append(out, Value{Err: err})
			continue
		}
		if root == nil {
			continue
		}
		v, err := (&nodeConverter{}).value(root, 0)
		if err != nil {
			err = errs.E(errs.Invalid, "YAML error: %v", err)
		}
		out = append(out, Value{Value: v, Err: err})
	}
	return out
}

type docChunk struct {
	line int
	text []byte
}

// splitDocuments cuts at "---" and "..." markers in column 0, which YAML defines as document
// boundaries whatever came before, so a syntax error stays inside its own document.
func splitDocuments(data []byte) []docChunk {
	var chunks []docChunk
	start, startLine, line := 0, 1, 1
	for pos := 0; pos <= len(data); {
		end := bytes.IndexByte(data[pos:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += pos
		}
		text := bytes.TrimRight(data[pos:end], "\r")
		if isDocMarker(text) {
			if pos > start {
				chunks = append(chunks, docChunk{line: startLine, text: data[start:pos]})
			}
			rest := end + 1
			if bytes.HasPrefix(text, []byte("---")) && len(bytes.TrimSpace(text[3:])) > 0 {
				// "--- value" keeps content on the marker line; keep it with the document.
				rest = pos + 3
			}
			start, startLine = min(rest, len(data)), line
			if rest == end+1 {
				startLine = line + 1
			}
		}
		pos, line = end+1, line+1
	}
	if start < len(data) {
		chunks = append(chunks, docChunk{line: startLine, text: data[start:]})
	}
	return chunks
}

func isDocMarker(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("---")) && !bytes.HasPrefix(line, []byte("...")) {
		return false
	}
	return len(line) == 3 || line[3] == ' ' || line[3] == '\t'
}

// yamlError reports a syntax error with its line in the file, not in the document.
func yamlError(err error, docLine int) error {
	msg := shiftYAMLError(err, docLine)
	if strings.HasPrefix(msg, "line ") {
		return errs.E(errs.Invalid, "YAML error at %s", msg)
	}
	return errs.E(errs.Invalid, "YAML error in the document starting at line %d: %s", docLine, msg)
}

// shiftYAMLError rewrites yaml.v3's "line N" (relative to the document) to the file's line.
func shiftYAMLError(err error, offset int) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.IndexByte(rest, ':'); i > 0 {
			if n, convErr := strconv.Atoi(rest[:i]); convErr == nil {
				return fmt.Sprintf("line %d:%s", n+offset-1, rest[i+1:])
			}
		}
	}
	return msg
}

// maxYAMLDepth bounds nesting so a hostile file cannot exhaust the stack.
const maxYAMLDepth = 100

// maxYAMLNodes bounds the expanded size of one document, so aliases cannot multiply it without end.
const maxYAMLNodes = 1_000_000

type nodeConverter struct {
	visited int
	// firstLine, when set, is where the document starts: an alias to an anchor before it is errAliasBefore.
	firstLine int
}

func (c *nodeConverter) value(n *yaml.Node, depth int) (any, error) {
	c.visited++
	if c.visited > maxYAMLNodes {
		return nil, fmt.Errorf("line %d: document expands to more than %d values (alias loop?)", n.Line, maxYAMLNodes)
	}
	if depth > maxYAMLDepth {
		return nil, fmt.Errorf("line %d: nesting deeper than %d levels", n.Line, maxYAMLDepth)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, fmt.Errorf("line %d: alias to an unknown anchor", n.Line)
		}
		if n.Alias.Line < c.firstLine {
			return nil, errAliasBefore
		}
		// Aliases are resolved by value; the depth and size bounds stop alias loops and bombs.
		return c.value(n.Alias, depth+1)
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				merged, err := c.value(v, depth+1)
				if err != nil {
					return nil, err
				}
				if err := mergeInto(out, merged, v.Line); err != nil {
					return nil, err
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: mapping keys must be strings", k.Line)
			}
			val, err := c.value(v, depth+1)
			if err != nil {
				return nil, err
			}
			out[k.Value] = val
		}
		return out, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			val, err := c.value(item, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, val)
		}
		return out, nil
	case yaml.ScalarNode:
		return scalarValue(n)
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

func mergeInto(out map[string]any, merged any, line int) error {
	switch m := merged.(type) {
	case map[string]any:
		for k, v := range m {
			if _, exists := out[k]; !exists {
				out[k] = v
			}
		}
	case []any:
		for _, x := range m {
			if err := mergeInto(out, x, line); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("line %d: merge key needs a mapping", line)
	}
	return nil
}

func scalarValue(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, fmt.Errorf("line %d: %v", n.Line, err)
		}
		return b, nil
	case "!!int", "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, fmt.Errorf("line %d: %v", n.Line, err)
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			// JSON has no such numbers; keep what the author wrote.
			return n.Value, nil
		}
		return f, nil
	case "!!str", "!!timestamp", "!!binary":
		return n.Value, nil
	default:
		// Custom tags (!!python/..., !Ref) are data here, never instructions: keep the text.
		return n.Value, nil
	}
}
