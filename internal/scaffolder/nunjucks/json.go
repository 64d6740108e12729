package nunjucks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

var errTooDeep = errors.New("value nested too deeply")

// Dump is JavaScript's JSON.stringify(v, null, indent) for engine values; ok is false where
// JSON.stringify returns undefined (for Undefined and functions).
func Dump(v any, indent string) (s string, ok bool) {
	if IsUndefined(v) || isFunc(v) {
		return "", false
	}
	var b strings.Builder
	if err := writeJSON(&b, v, indent, "", 0); err != nil {
		return "", false
	}
	return b.String(), true
}

func writeJSON(b limitedWriter, v any, indent, cur string, depth int) error {
	if depth > 64 {
		return errTooDeep
	}
	w := func(s string) error { _, err := b.WriteString(s); return err }
	switch x := v.(type) {
	case nil, undefinedType, *Func:
		return w("null")
	case bool:
		return w(strconv.FormatBool(x))
	case float64:
		if s := jsNumber(x); s == "NaN" || s == "Infinity" || s == "-Infinity" {
			return w("null")
		} else {
			return w(s)
		}
	case string:
		return w(quoteJSON(x))
	case *Regexp:
		return w("{}")
	case []any:
		if len(x) == 0 {
			return w("[]")
		}
		inner := cur + indent
		if err := w("["); err != nil {
			return err
		}
		for i, e := range x {
			if i > 0 {
				if err := w(","); err != nil {
					return err
				}
			}
			if indent != "" {
				if err := w("\n" + inner); err != nil {
					return err
				}
			}
			if err := writeJSON(b, e, indent, inner, depth+1); err != nil {
				return err
			}
		}
		if indent != "" {
			if err := w("\n" + cur); err != nil {
				return err
			}
		}
		return w("]")
	case *Object:
		inner := cur + indent
		if err := w("{"); err != nil {
			return err
		}
		n := 0
		for _, k := range x.Keys() {
			e := x.m[k]
			if IsUndefined(e) || isFunc(e) {
				continue
			}
			if n > 0 {
				if err := w(","); err != nil {
					return err
				}
			}
			n++
			if indent != "" {
				if err := w("\n" + inner); err != nil {
					return err
				}
			}
			sep := ":"
			if indent != "" {
				sep = ": "
			}
			if err := w(quoteJSON(k) + sep); err != nil {
				return err
			}
			if err := writeJSON(b, e, indent, inner, depth+1); err != nil {
				return err
			}
		}
		if n > 0 && indent != "" {
			if err := w("\n" + cur); err != nil {
				return err
			}
		}
		return w("}")
	}
	return w("null")
}

// quoteJSON quotes s as JSON.stringify does: unlike encoding/json it leaves <, > and & alone and
// escapes only quotes, backslashes and control characters.
func quoteJSON(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// ParseJSON decodes JSON text into engine values, keeping object key order as JSON.parse does.
func ParseJSON(text string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	v, err := decodeJSON(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after JSON value")
	}
	return v, nil
}

// ParseJSONBytes is ParseJSON for bytes.
func ParseJSONBytes(data []byte) (any, error) { return ParseJSON(string(bytes.TrimSpace(data))) }

func decodeJSON(dec *json.Decoder, depth int) (any, error) {
	if depth > 512 {
		return nil, errTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			arr := []any{}
			for dec.More() {
				e, err := decodeJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, e)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return arr, nil
		case '{':
			o := NewObject(4)
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				e, err := decodeJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o.Set(k, e)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return o, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return nil, err
		}
		return f, nil
	default:
		return t, nil // nil, bool, string
	}
}
