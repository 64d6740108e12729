package techdocs

import (
	"bytes"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// splitFrontMatter separates a leading YAML block ("---" ... "---" or "...") from the Markdown
// body, as mkdocs' meta.get_data does: the block is taken only when it parses as a mapping, and
// blank lines after it are dropped. lines is the number of lines removed, for diagnostics.
func splitFrontMatter(src []byte) (meta map[string]any, body []byte, lines int, err error) {
	if !bytes.HasPrefix(src, []byte("---")) {
		return nil, src, 0, nil
	}
	first := bytes.IndexByte(src, '\n')
	if first < 0 || len(bytes.TrimRight(src[3:first], " \t\r")) != 0 {
		return nil, src, 0, nil
	}
	pos := first + 1
	for pos < len(src) {
		end := bytes.IndexByte(src[pos:], '\n')
		var line []byte
		next := len(src)
		if end >= 0 {
			line, next = src[pos:pos+end], pos+end+1
		} else {
			line = src[pos:]
		}
		trimmed := bytes.TrimRight(line, " \t\r")
		if bytes.Equal(trimmed, []byte("---")) || bytes.Equal(trimmed, []byte("...")) {
			if end < 0 {
				// mkdocs requires a newline after the closing marker.
				return nil, src, 0, nil
			}
			m, perr := parseMeta(src[first+1 : pos])
			if perr != nil {
				return nil, src, 0, perr
			}
			if m == nil {
				return nil, src, 0, nil
			}
			rest := src[next:]
			rest = bytes.TrimLeft(rest, "\n")
			return m, rest, bytes.Count(src[:len(src)-len(rest)], []byte("\n")), nil
		}
		pos = next
	}
	return nil, src, 0, nil
}

// parseMeta decodes a front-matter mapping into plain values. Like mkdocs.yml, it is data only:
// tags are ignored and aliases are bounded.
func parseMeta(b []byte) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	budget := maxYAMLNodes
	v := yamlValue(doc.Content[0], &budget, 0)
	m, _ := v.(map[string]any)
	return m, nil
}

func yamlValue(n *yaml.Node, budget *int, depth int) any {
	*budget--
	if n == nil || *budget < 0 || depth > 64 {
		return nil
	}
	switch n.Kind {
	case yaml.AliasNode:
		return yamlValue(n.Alias, budget, depth+1)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			for k.Kind == yaml.AliasNode && k.Alias != nil && depth < 64 {
				k = k.Alias
			}
			m[k.Value] = yamlValue(n.Content[i+1], budget, depth+1)
		}
		return m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			s = append(s, yamlValue(c, budget, depth+1))
		}
		return s
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil
		case "!!bool":
			b, err := strconv.ParseBool(n.Value)
			if err != nil {
				var out bool
				if n.Decode(&out) == nil {
					return out
				}
				return n.Value
			}
			return b
		case "!!int":
			if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
				return i
			}
		case "!!float":
			if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
				return f
			}
		}
		return n.Value
	}
	return nil
}
