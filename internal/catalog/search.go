package catalog

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/billpay/portal/internal/errs"
)

// SearchEntry is one row of Backstage's search table (reference §1.6): what filters, facets, sorting
// and full-text search match against.
type SearchEntry struct {
	// Key is the dotted path, lowercased.
	Key string
	// Value is the lowercased string form of the leaf; "" when Null.
	Value string
	// Original is the leaf's string form in its original case; "" when Null. Facets group by it.
	Original string
	// Null marks a null or absent leaf, or a value too long to index: the key exists but no value
	// matches it.
	Null bool
}

// Limits of Backstage's search columns, counted in UTF-16 code units as JavaScript does.
const (
	searchMaxKeyLen   = 200
	searchMaxValueLen = 200
)

// searchMaxDepth bounds recursion on hostile input; encoding/json rejects deeper documents anyway.
const searchMaxDepth = 10000

// SearchEntries flattens a final entity into its search rows exactly as Backstage's stitcher does,
// sorted by key, then nulls first, then value. It fails with errs.Invalid when two keys differ only
// in case, which Backstage refuses to stitch.
func SearchEntries(final Entity) ([]SearchEntry, error) {
	raw, err := json.Marshal(map[string]any(final))
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "entity cannot be encoded as JSON")
	}
	s, err := scanEntity(raw)
	if err != nil {
		return nil, err
	}
	return s.entries(), nil
}

// scannedEntity is what the index needs from one raw final entity, read in a single pass over its
// bytes: decoding into maps first would cost more than the rest of ingest together. Keys and
// values are spans of one arena, so that scanning allocates a handful of times per entity.
type scannedEntity struct {
	arena []byte
	rows  []rawRow // final search rows, in SearchEntries order
	uid   string
	ref   string // canonical, lowercased; "" when kind or name is missing
	// spaced reports insignificant whitespace in the input, so the stored copy can be compacted.
	spaced bool
}

func (s *scannedEntity) bytes(sp arenaSpan) []byte { return s.arena[sp.a:sp.b] }

func (s *scannedEntity) entries() []SearchEntry {
	frozen := string(s.arena)
	out := make([]SearchEntry, len(s.rows))
	for i, r := range s.rows {
		out[i] = SearchEntry{Key: frozen[r.lower.a:r.lower.b], Null: r.null}
		if !r.null {
			out[i].Value, out[i].Original = frozen[r.lowerV.a:r.lowerV.b], frozen[r.value.a:r.value.b]
		}
	}
	return out
}

// scanEntity walks the raw JSON of an entity and builds its search rows (reference §1.6).
func scanEntity(raw []byte) (scannedEntity, error) {
	w := searchWalker{
		sc:    jsonScanner{b: raw},
		arena: make([]byte, 0, len(raw)*2),
		rows:  make([]rawRow, 0, len(raw)/24),
		path:  make([]byte, 0, 256),
	}
	w.synthetic = w.syntheticBuf[:0]
	if err := w.walkRoot(); err != nil {
		return scannedEntity{}, err
	}
	if err := w.finish(); err != nil {
		return scannedEntity{}, err
	}
	out := scannedEntity{arena: w.arena, rows: w.rows, spaced: w.sc.spaced}
	if w.uid.set && !w.uid.null {
		out.uid = string(out.bytes(w.uid.v))
	}
	name := out.bytes(w.name.v)
	if w.kind.set && !w.kind.null && w.name.set && !w.name.null && len(name) > 0 {
		ns := []byte(DefaultNamespace)
		if w.namespace.set && !w.namespace.null && !w.namespace.falsy {
			ns = out.bytes(w.namespace.v)
		}
		ref := make([]byte, 0, int(w.kind.v.b-w.kind.v.a)+len(ns)+len(name)+2)
		ref = appendLower(ref, out.bytes(w.kind.v))
		ref = append(ref, ':')
		ref = appendLower(ref, ns)
		ref = append(ref, '/')
		out.ref = string(appendLower(ref, name))
	}
	return out, nil
}

// arenaSpan is a byte range of the walker's arena.
type arenaSpan struct{ a, b int32 }

// rawRow is a search row before length limits and deduplication.
type rawRow struct {
	key, lower    arenaSpan // original-case and lowercased key
	value, lowerV arenaSpan // original-case and lowercased value
	null          bool
}

// capturedValue is a primitive read at a well-known path, stringified as JavaScript's String() does.
type capturedValue struct {
	v    arenaSpan
	null bool // null, or an array
	set  bool // the path was present
	// falsy mirrors JavaScript truthiness, which decides whether the default namespace is added.
	falsy bool
}

type searchWalker struct {
	sc jsonScanner
	// arena holds every key and value of the entity, so that building the rows allocates once.
	arena []byte
	path  []byte
	rows  []rawRow
	// synthetic holds the lowercased synthetic "path.item" keys already emitted; Backstage emits
	// each once. Searched linearly while small, through seenPaths once large.
	synthetic    []arenaSpan
	syntheticBuf [8]arenaSpan
	seenPaths    map[string]struct{}
	kind         capturedValue
	name         capturedValue
	namespace    capturedValue
	uid          capturedValue
}

func (w *searchWalker) walkRoot() error {
	w.sc.skipSpace()
	if w.sc.peek() != '{' {
		return errs.E(errs.Invalid, "entity must be a JSON object")
	}
	if err := w.walkObject(0, rootObject); err != nil {
		return err
	}
	w.sc.skipSpace()
	if w.sc.i != len(w.sc.b) {
		return w.sc.fail("unexpected data after the entity")
	}
	return nil
}

type objectRole uint8

const (
	plainObject objectRole = iota
	rootObject
	metadataObject
)

// walkObject visits the object at the scanner; w.path is the object's own path.
func (w *searchWalker) walkObject(depth int, role objectRole) error {
	w.sc.i++ // '{'
	w.sc.skipSpace()
	if w.sc.peek() == '}' {
		w.sc.i++
		return nil
	}
	for {
		key, err := w.sc.readMember()
		if err != nil {
			return err
		}

		var capture *capturedValue
		handled := false
		switch role {
		case rootObject:
			switch string(key) {
			case "relations":
				if err := w.walkRelations(); err != nil {
					return err
				}
				handled = true
			case "kind":
				// Recorded for the ref and still indexed by the generic walk.
				if w.sc.peek() == '"' {
					w.path = append(w.path[:0], "kind"...)
					row := w.newRow(w.path)
					if row.value, err = w.readPrimitive(); err != nil {
						return err
					}
					w.finishRow(&row)
					w.kind = capturedValue{v: row.value, set: true}
					w.path = w.path[:0]
					handled = true
				}
			case "metadata":
				if w.sc.peek() == '{' {
					w.path = append(w.path[:0], "metadata"...)
					if err := w.walkObject(depth+1, metadataObject); err != nil {
						return err
					}
					w.path = w.path[:0]
					handled = true
				}
			}
		case metadataObject:
			switch string(key) {
			case "name":
				capture = &w.name
			case "namespace":
				capture = &w.namespace
			case "uid":
				capture = &w.uid
			}
		}
		if capture != nil {
			if *capture, err = w.capture(); err != nil {
				return err
			}
			handled = true
		}
		if !handled {
			n := len(w.path)
			if n > 0 {
				w.path = append(w.path, '.')
			}
			w.path = append(w.path, key...)
			if err := w.walkValue(depth + 1); err != nil {
				return err
			}
			w.path = w.path[:n]
		}

		w.sc.skipSpace()
		switch w.sc.peek() {
		case ',':
			w.sc.i++
		case '}':
			w.sc.i++
			return nil
		default:
			return w.sc.fail("expected ',' or '}' in object")
		}
	}
}

// isSkippedSearchPath reports the paths Backstage leaves out of the generic walk: either not worth
// indexing, or added explicitly afterwards.
func isSkippedSearchPath(p []byte) bool {
	switch string(p) {
	case "attachments", "relations", "status", "metadata.name", "metadata.namespace", "metadata.uid", "metadata.etag":
		return true
	}
	return false
}

func (w *searchWalker) walkValue(depth int) error {
	if depth > searchMaxDepth {
		return w.sc.fail("entity is nested too deeply")
	}
	if isSkippedSearchPath(w.path) {
		return w.sc.skipValue(depth)
	}
	switch w.sc.peek() {
	case '{':
		return w.walkObject(depth, plainObject)
	case '[':
		return w.walkArray(depth)
	}
	row := w.newRow(w.path)
	var err error
	if row.value, err = w.readPrimitive(); err != nil {
		return err
	}
	w.finishRow(&row)
	return nil
}

func (w *searchWalker) walkArray(depth int) error {
	w.sc.i++ // '['
	w.sc.skipSpace()
	if w.sc.peek() == ']' {
		w.sc.i++
		return nil
	}
	for {
		w.sc.skipSpace()
		if w.sc.peek() == '"' {
			// Strings also get a synthetic "path.item" = true row so that a filter can require
			// several elements at once ("metadata.tags.java" and "metadata.tags.go").
			row := w.newRow(w.path)
			var err error
			if row.value, err = w.readPrimitive(); err != nil {
				return err
			}
			w.finishRow(&row)
			w.addSynthetic(row.value)
		} else if err := w.walkValue(depth + 1); err != nil {
			return err
		}
		w.sc.skipSpace()
		switch w.sc.peek() {
		case ',':
			w.sc.i++
		case ']':
			w.sc.i++
			return nil
		default:
			return w.sc.fail("expected ',' or ']' in array")
		}
	}
}

func (w *searchWalker) addSynthetic(item arenaSpan) {
	start := len(w.path)
	w.path = append(w.path, '.')
	w.path = append(w.path, w.arena[item.a:item.b]...)
	row := w.newRow(w.path)
	w.path = w.path[:start]
	if w.seenSynthetic(row.lower) {
		return
	}
	row.value = w.appendArena([]byte("true"))
	w.finishRow(&row)
}

func (w *searchWalker) seenSynthetic(lower arenaSpan) bool {
	key := w.arena[lower.a:lower.b]
	const linearMax = 32
	if w.seenPaths == nil {
		for _, s := range w.synthetic {
			if bytes.Equal(w.arena[s.a:s.b], key) {
				return true
			}
		}
		w.synthetic = append(w.synthetic, lower)
		if len(w.synthetic) > linearMax {
			w.seenPaths = make(map[string]struct{}, 2*linearMax)
			for _, s := range w.synthetic {
				w.seenPaths[string(w.arena[s.a:s.b])] = struct{}{}
			}
		}
		return false
	}
	if _, ok := w.seenPaths[string(key)]; ok {
		return true
	}
	w.seenPaths[string(key)] = struct{}{}
	return false
}

// newRow starts a row for key, copying the key and its lowercased form into the arena.
func (w *searchWalker) newRow(key []byte) rawRow {
	r := rawRow{key: w.appendArena(key)}
	r.lower = w.lowerOf(r.key)
	return r
}

// finishRow lowercases the value and records the row.
func (w *searchWalker) finishRow(r *rawRow) {
	if r.value.a < 0 {
		r.null, r.value = true, arenaSpan{}
	} else {
		r.lowerV = w.lowerOf(r.value)
	}
	w.rows = append(w.rows, *r)
}

func (w *searchWalker) appendArena(b []byte) arenaSpan {
	a := len(w.arena)
	w.arena = append(w.arena, b...)
	return arenaSpan{int32(a), int32(len(w.arena))}
}

// lowerOf returns the lowercased form of an arena arenaSpan, reusing the arenaSpan when nothing changes.
func (w *searchWalker) lowerOf(s arenaSpan) arenaSpan {
	b := w.arena[s.a:s.b]
	for _, c := range b {
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			a := len(w.arena)
			w.arena = appendLower(w.arena, w.arena[s.a:s.b])
			return arenaSpan{int32(a), int32(len(w.arena))}
		}
	}
	return s
}

func appendLower(dst, b []byte) []byte {
	for i, c := range b {
		if c >= utf8.RuneSelf {
			return append(dst, strings.ToLower(string(b[i:]))...)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// readPrimitive appends a primitive's String() form to the arena; a null yields arenaSpan{-1, -1}.
func (w *searchWalker) readPrimitive() (arenaSpan, error) {
	a := len(w.arena)
	var null bool
	var err error
	w.arena, null, err = w.sc.appendPrimitive(w.arena)
	if err != nil {
		return arenaSpan{}, err
	}
	if null {
		return arenaSpan{-1, -1}, nil
	}
	return arenaSpan{int32(a), int32(len(w.arena))}, nil
}

// walkRelations reads the relations array into relations.<type> = targetRef rows.
func (w *searchWalker) walkRelations() error {
	if w.sc.peek() != '[' {
		return w.sc.skipValue(1)
	}
	w.sc.i++
	w.sc.skipSpace()
	if w.sc.peek() == ']' {
		w.sc.i++
		return nil
	}
	for {
		w.sc.skipSpace()
		if w.sc.peek() == '{' {
			if err := w.walkRelation(); err != nil {
				return err
			}
		} else if err := w.sc.skipValue(2); err != nil {
			return err
		}
		w.sc.skipSpace()
		switch w.sc.peek() {
		case ',':
			w.sc.i++
		case ']':
			w.sc.i++
			return nil
		default:
			return w.sc.fail("expected ',' or ']' in array")
		}
	}
}

func (w *searchWalker) walkRelation() error {
	w.sc.i++ // '{'
	typ := capturedValue{}
	target := capturedValue{}
	w.sc.skipSpace()
	if w.sc.peek() == '}' {
		w.sc.i++
	} else {
	loop:
		for {
			key, err := w.sc.readMember()
			if err != nil {
				return err
			}
			switch string(key) {
			case "type":
				if typ, err = w.capture(); err != nil {
					return err
				}
			case "targetRef":
				if target, err = w.capture(); err != nil {
					return err
				}
			default:
				if err := w.sc.skipValue(3); err != nil {
					return err
				}
			}
			w.sc.skipSpace()
			switch w.sc.peek() {
			case ',':
				w.sc.i++
			case '}':
				w.sc.i++
				break loop
			default:
				return w.sc.fail("expected ',' or '}' in object")
			}
		}
	}
	// The key is the template literal `relations.${relation.type}`.
	key := append(w.path[:0], "relations."...)
	switch {
	case !typ.set:
		key = append(key, "undefined"...)
	case typ.null:
		key = append(key, "null"...)
	default:
		key = append(key, w.arena[typ.v.a:typ.v.b]...)
	}
	w.path = key[:0]
	row := w.newRow(key)
	if target.set && !target.null {
		row.value = target.v
	} else {
		row.value = arenaSpan{-1, -1}
	}
	w.finishRow(&row)
	return nil
}

// capture reads any value at a well-known path, keeping its String() form when it is a primitive.
func (w *searchWalker) capture() (capturedValue, error) {
	switch w.sc.peek() {
	case '{':
		return capturedValue{v: w.appendArena([]byte("[object Object]")), set: true}, w.sc.skipValue(3)
	case '[':
		return capturedValue{set: true, null: true}, w.sc.skipValue(3)
	}
	lit := w.sc.i
	v, err := w.readPrimitive()
	if err != nil {
		return capturedValue{}, err
	}
	if v.a < 0 {
		return capturedValue{set: true, null: true, falsy: true}, nil
	}
	s := w.arena[v.a:v.b]
	var falsy bool
	if w.sc.b[lit] == '"' {
		falsy = len(s) == 0
	} else {
		falsy = string(s) == "0" || string(s) == "false"
	}
	return capturedValue{v: v, set: true, falsy: falsy}, nil
}

// finish adds the explicit rows and applies the casing check, limits and deduplication, leaving
// w.rows in SearchEntries order.
func (w *searchWalker) finish() error {
	for _, c := range []struct {
		key string
		v   capturedValue
	}{{"metadata.name", w.name}, {"metadata.namespace", w.namespace}, {"metadata.uid", w.uid}} {
		row := w.newRow([]byte(c.key))
		row.value = c.v.v
		if !c.v.set || c.v.null {
			row.value = arenaSpan{-1, -1}
		}
		w.finishRow(&row)
	}
	if !w.namespace.set || w.namespace.falsy {
		row := w.newRow([]byte("metadata.namespace"))
		row.value = w.appendArena([]byte(DefaultNamespace))
		w.finishRow(&row)
	}

	arena := w.arena
	at := func(s arenaSpan) []byte { return arena[s.a:s.b] }
	cmp := func(a, b rawRow) int {
		if c := bytes.Compare(at(a.lower), at(b.lower)); c != 0 {
			return c
		}
		if a.null != b.null {
			if a.null {
				return -1
			}
			return 1
		}
		return bytes.Compare(at(a.lowerV), at(b.lowerV))
	}
	// Stable, so that of rows equal after lowercasing the first one's original case survives.
	slices.SortStableFunc(w.rows, cmp)

	var clashes []string
	for i := 1; i < len(w.rows); i++ {
		prev, cur := &w.rows[i-1], &w.rows[i]
		lower := at(cur.lower)
		if bytes.Equal(at(prev.lower), lower) && !bytes.Equal(at(prev.key), at(cur.key)) &&
			(len(clashes) == 0 || clashes[len(clashes)-1] != string(lower)) {
			clashes = append(clashes, string(lower))
		}
	}
	if len(clashes) > 0 {
		return errs.E(errs.Invalid, "Entity has duplicate keys that vary only in casing, '%s'", strings.Join(clashes, "', '"))
	}

	nulled := false
	rows := w.rows[:0]
	for _, r := range w.rows {
		if utf16Len(at(r.lower)) > searchMaxKeyLen {
			continue
		}
		if !r.null && utf16Len(at(r.lowerV)) > searchMaxValueLen {
			r.null, r.value, r.lowerV = true, arenaSpan{}, arenaSpan{}
			nulled = true
		}
		rows = append(rows, r)
	}
	if nulled {
		slices.SortStableFunc(rows, cmp)
	}
	w.rows = slices.CompactFunc(rows, func(a, b rawRow) bool { return cmp(a, b) == 0 })
	return nil
}

// utf16Len is JavaScript's String.length.
func utf16Len(b []byte) int {
	for i, c := range b {
		if c >= utf8.RuneSelf {
			n := i
			for _, r := range string(b[i:]) {
				if r >= 0x10000 {
					n += 2
				} else {
					n++
				}
			}
			return n
		}
	}
	return len(b)
}

// jsNumberString formats a number as JavaScript's String(number), which is what the search table
// and predicate equality compare against: 1.0 is "1", 1e21 is "1e+21", 1e-7 is "1e-7".
func jsNumberString(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	case f < 0:
		return "-" + jsNumberString(-f)
	}
	if f < 1e21 && f == math.Trunc(f) {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	// Shortest round-trip digits d1.d2...dk and exponent e; JavaScript's n is e+1.
	sci := strconv.FormatFloat(f, 'e', -1, 64)
	mant, expStr, _ := strings.Cut(sci, "e")
	exp, _ := strconv.Atoi(expStr)
	digits := strings.Replace(mant, ".", "", 1)
	k, n := len(digits), exp+1
	switch {
	case k <= n && n <= 21:
		return digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		return digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		return "0." + strings.Repeat("0", -n) + digits
	}
	sign := "+"
	if n-1 < 0 {
		sign = "-"
	}
	e := strconv.Itoa(absInt(n - 1))
	if k == 1 {
		return digits + "e" + sign + e
	}
	return digits[:1] + "." + digits[1:] + "e" + sign + e
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// jsonScanner is a minimal JSON reader over bytes for the ingest hot path. It validates as it goes
// and leaves anything unusual (escapes, non-ASCII) to encoding/json.
type jsonScanner struct {
	b      []byte
	i      int
	spaced bool
}

func (s *jsonScanner) fail(msg string) error { return s.failAt(s.i, msg) }

func (s *jsonScanner) failAt(at int, msg string) error {
	return errs.E(errs.Invalid, "invalid entity JSON at offset %d: %s", at, msg)
}

func (s *jsonScanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *jsonScanner) skipSpace() {
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
			continue
		}
		break
	}
	if s.i != start {
		s.spaced = true
	}
}

// readKey reads a string, returning the input bytes themselves when it has no escapes.
// readMember reads an object member's key and its colon, leaving the scanner at the value.
func (s *jsonScanner) readMember() ([]byte, error) {
	s.skipSpace()
	key, err := s.readKey()
	if err != nil {
		return nil, err
	}
	s.skipSpace()
	if s.peek() != ':' {
		return nil, s.fail("expected ':' after object key")
	}
	s.i++
	s.skipSpace()
	return key, nil
}

func (s *jsonScanner) readKey() ([]byte, error) {
	if s.peek() != '"' {
		return nil, s.fail("expected a string")
	}
	start := s.i
	if s.scanString() {
		return s.b[start+1 : s.i-1], nil
	}
	if s.i < 0 {
		return nil, s.failAt(start, "invalid string")
	}
	var out string
	if err := json.Unmarshal(s.b[start:s.i], &out); err != nil {
		return nil, s.failAt(start, "invalid string")
	}
	return []byte(out), nil
}

// scanString steps over a string and reports whether it is plain printable ASCII without escapes.
// On malformed input it sets s.i to -1.
func (s *jsonScanner) scanString() bool {
	s.i++
	simple := true
	for s.i < len(s.b) {
		c := s.b[s.i]
		if !stringSpecial[c] {
			s.i++
			continue
		}
		switch {
		case c == '"':
			s.i++
			return simple
		case c == '\\':
			simple = false
			s.i += 2
		case c < 0x20:
			s.i = -1
			return false
		default:
			// encoding/json replaces invalid UTF-8, as a JavaScript decoder would.
			simple = false
			s.i++
		}
	}
	s.i = -1
	return false
}

// stringSpecial marks the bytes scanString must look at: quote, backslash, control, non-ASCII.
var stringSpecial = func() (t [256]bool) {
	for c := range t {
		t[c] = c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf
	}
	return t
}()

// appendPrimitive appends the String() form of a string, number or boolean to dst, or reports null.
func (s *jsonScanner) appendPrimitive(dst []byte) ([]byte, bool, error) {
	switch c := s.peek(); {
	case c == '"':
		start := s.i
		if s.scanString() {
			return append(dst, s.b[start+1:s.i-1]...), false, nil
		}
		if s.i < 0 {
			return dst, false, s.failAt(start, "invalid string")
		}
		var out string
		if err := json.Unmarshal(s.b[start:s.i], &out); err != nil {
			return dst, false, s.failAt(start, "invalid string")
		}
		return append(dst, out...), false, nil
	case c == 't':
		return append(dst, "true"...), false, s.literal("true")
	case c == 'f':
		return append(dst, "false"...), false, s.literal("false")
	case c == 'n':
		return dst, true, s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		lit, err := s.readNumber()
		if err != nil {
			return dst, false, err
		}
		return append(dst, numberLiteralString(lit)...), false, nil
	default:
		return dst, false, s.fail("unexpected character")
	}
}

// numberLiteralString converts a JSON number literal to JavaScript's String() of its value.
func numberLiteralString(lit string) string {
	// Small plain integers print as written; everything else goes through float64 like JSON.parse.
	if len(lit) <= 15 && lit != "-0" && !strings.ContainsAny(lit, ".eE") {
		return lit
	}
	// The literal is valid JSON, so the only possible error is a range error, whose result (±Inf
	// or 0) is also what JSON.parse yields.
	f, _ := strconv.ParseFloat(lit, 64)
	return jsNumberString(f)
}

func (s *jsonScanner) literal(word string) error {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return s.fail("invalid literal")
	}
	s.i += len(word)
	return nil
}

func (s *jsonScanner) readNumber() (string, error) {
	start := s.i
	if s.peek() == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	intStart := s.i
	if n := digits(); n == 0 || (n > 1 && s.b[intStart] == '0') {
		return "", s.fail("invalid number")
	}
	if s.peek() == '.' {
		s.i++
		if digits() == 0 {
			return "", s.fail("invalid number")
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if digits() == 0 {
			return "", s.fail("invalid number")
		}
	}
	return string(s.b[start:s.i]), nil
}

// skipValue validates and steps over one value.
func (s *jsonScanner) skipValue(depth int) error {
	if depth > searchMaxDepth {
		return s.fail("entity is nested too deeply")
	}
	s.skipSpace()
	switch s.peek() {
	case '{':
		s.i++
		s.skipSpace()
		if s.peek() == '}' {
			s.i++
			return nil
		}
		for {
			if _, err := s.readMember(); err != nil {
				return err
			}
			if err := s.skipValue(depth + 1); err != nil {
				return err
			}
			s.skipSpace()
			switch s.peek() {
			case ',':
				s.i++
			case '}':
				s.i++
				return nil
			default:
				return s.fail("expected ',' or '}' in object")
			}
		}
	case '[':
		s.i++
		s.skipSpace()
		if s.peek() == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.skipValue(depth + 1); err != nil {
				return err
			}
			s.skipSpace()
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return nil
			default:
				return s.fail("expected ',' or ']' in array")
			}
		}
	case '"':
		start := s.i
		if !s.scanString() {
			if s.i < 0 || !json.Valid(s.b[start:s.i]) {
				return s.failAt(start, "invalid string")
			}
		}
		return nil
	default:
		_, _, err := s.appendPrimitive(nil)
		return err
	}
}
