package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/klauspost/compress/s2"

	"github.com/billpay/portal/internal/errs"
)

// Index is the in-memory read model of the catalog: every stitched entity as the JSON bytes that
// are served, plus an inverted index of its search rows (reference §1.6) so that filters, facets,
// sorting and paging never decode entities. The storage layer feeds it every stitched entity (Put)
// and deletion (Delete); every replica keeps its own.
//
// Entities are numbered by small internal ids so that a filter evaluates to a bitset, and posting
// lists are sorted id lists. Readers share a read lock; writers are serialized.
//
// The served JSON is the largest part of the index, and entities of one catalog repeat each other
// (keys, annotations, location URLs, owners), so it is kept compressed against a dictionary sampled
// from the catalog itself. For bench/catalog's 10,000 entities that is 2.5 MiB instead of 13, and
// reading an entity back costs about a microsecond.
type Index struct {
	mu    sync.RWMutex
	dict  *s2.Dict    // nil until the index holds dictSampleDocs entities
	plain int         // live entities not compressed with dict
	docs  []*indexDoc // by id; nil for free ids
	free  []uint32
	live  docSet
	byUID map[string]uint32
	byRef map[string]uint32
	order []uint32 // live ids by canonical ref
	keys  map[string]*indexKey

	// prev is the entity linked in last, a lookup shortcut for the next one (see putLocked).
	prev   *indexDoc
	prevID uint32
}

// An indexDoc is never modified once linked in: readers keep using one after the lock is released.
type indexDoc struct {
	packed []byte   // the served JSON, compressed with dict, or plain when dict is nil
	dict   *s2.Dict // what packed was compressed with
	uid    string
	ref    string
	rows   []*indexValue // sorted by key, like SearchEntries
}

// json returns the served JSON, decompressed into a slice of its own when the document is packed.
func (d *indexDoc) json() []byte {
	var buf []byte
	return d.decode(&buf)
}

// decode returns the served JSON: the stored bytes of a plain document, or a packed one
// decompressed into *buf, which is grown when too small.
func (d *indexDoc) decode(buf *[]byte) []byte {
	if d.dict == nil {
		return d.packed
	}
	n, err := s2.DecodedLen(d.packed)
	if err == nil {
		if cap(*buf) < n {
			*buf = make([]byte, n)
		}
		var out []byte
		if out, err = d.dict.Decode((*buf)[:n], d.packed); err == nil {
			return out
		}
	}
	// The index compressed these bytes itself and never changes them.
	panic(fmt.Sprintf("catalog index: entity %s does not decompress: %v", d.ref, err))
}

// indexKey is one search key with the entities that have it and its distinct values.
type indexKey struct {
	name   string
	docs   []uint32
	values map[string]*indexValue
	null   *indexValue
}

// indexValue is one value of a key, as one original spelling, with the entities that have it;
// or the key's null. Filters and sorting compare lowercased values, facets report the original
// spelling, so the spellings of one lowercased value are chained from the one the key's map holds.
// An entity has at most one spelling of a value (its search rows are deduplicated after
// lowercasing), so its row points at exactly the spelling it has.
type indexValue struct {
	key   *indexKey
	value string // lowercased
	orig  string // as spelled; shares value's bytes when the two are equal
	docs  []uint32
	next  *indexValue // the next spelling of the same lowercased value
	// Most values belong to one entity (uids, names, titles): its id is kept here, which saves an
	// allocation per value.
	docBuf [1]uint32
	null   bool
}

func newIndexValue(k *indexKey, value, orig string, null bool) *indexValue {
	v := &indexValue{key: k, value: value, orig: orig, null: null}
	v.docs = v.docBuf[:0:1]
	return v
}

// spellings iterates over v and the other spellings of its value.
func (v *indexValue) spellings(yield func(*indexValue) bool) {
	for ; v != nil; v = v.next {
		if !yield(v) {
			return
		}
	}
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{
		byUID: map[string]uint32{},
		byRef: map[string]uint32{},
		keys:  map[string]*indexKey{},
	}
}

// Len returns the number of entities held.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.byUID)
}

// Get returns the JSON of the entity with the given canonical (lowercase) ref. Callers must not
// modify the bytes.
func (ix *Index) Get(ref string) ([]byte, bool) {
	ix.mu.RLock()
	id, ok := ix.byRef[ref]
	if !ok {
		ix.mu.RUnlock()
		return nil, false
	}
	d := ix.docs[id]
	ix.mu.RUnlock()
	return d.json(), true
}

// GetByUID returns the JSON of the entity with the given uid. Callers must not modify the bytes.
func (ix *Index) GetByUID(uid string) ([]byte, bool) {
	ix.mu.RLock()
	id, ok := ix.byUID[uid]
	if !ok {
		ix.mu.RUnlock()
		return nil, false
	}
	d := ix.docs[id]
	ix.mu.RUnlock()
	return d.json(), true
}

// Has reports whether an entity with the given canonical (lowercase) ref is held.
func (ix *Index) Has(ref string) bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	_, ok := ix.byRef[ref]
	return ok
}

// GetMatching is Get restricted to entities that f matches, for by-refs lookups that carry a filter.
func (ix *Index) GetMatching(ref string, f Filter) ([]byte, bool) {
	ix.mu.RLock()
	id, ok := ix.byRef[ref]
	if !ok {
		ix.mu.RUnlock()
		return nil, false
	}
	d := ix.docs[id]
	matched := f == nil || f.node().matchRows(d.rowSeq)
	ix.mu.RUnlock()
	if !matched {
		return nil, false
	}
	return d.json(), true
}

func (d *indexDoc) rowSeq(yield func(key, value string, null bool) bool) {
	for _, v := range d.rows {
		if !yield(v.key.name, v.value, v.null) {
			return
		}
	}
}

// preparedDoc is an entity scanned outside the lock, ready to be linked in.
type preparedDoc struct {
	packed []byte
	dict   *s2.Dict
	scannedEntity
}

// prepareDoc scans raw and makes the index's private copy of it, compressed with dict when that is
// set, using *scratch as the compression's working space.
func prepareDoc(raw []byte, dict *s2.Dict, scratch *[]byte) (preparedDoc, error) {
	s, err := scanEntity(raw)
	if err != nil {
		return preparedDoc{}, err
	}
	if s.uid == "" {
		return preparedDoc{}, errs.E(errs.Invalid, "final entity has no metadata.uid")
	}
	if s.ref == "" {
		return preparedDoc{}, errs.E(errs.Invalid, "final entity has no kind or metadata.name")
	}
	if s.spaced {
		var buf bytes.Buffer
		buf.Grow(len(raw))
		if err := json.Compact(&buf, raw); err != nil {
			return preparedDoc{}, errs.Wrap(errs.Invalid, err, "invalid entity JSON")
		}
		raw = buf.Bytes()
	}
	// Always a private copy: the caller may reuse its buffer, and served bytes must never change.
	return preparedDoc{packed: pack(raw, dict, scratch), dict: dict, scannedEntity: s}, nil
}

// pack returns a copy of raw of exactly its size, compressed with dict unless that is nil;
// *scratch is the compression's working space, kept for the next call.
func pack(raw []byte, dict *s2.Dict, scratch *[]byte) []byte {
	if dict == nil {
		return bytes.Clone(raw)
	}
	*scratch = dict.Encode((*scratch)[:0], raw) // sized for the worst case, hence the copy below
	return bytes.Clone(*scratch)
}

// dictSampleDocs is how many entities the index holds before it samples them for its compression
// dictionary; below that, memory does not matter and entities are kept plain.
const dictSampleDocs = 64

// dictSampleBytes bounds the dictionary: s2 uses at most 64 KiB of it, and entities beyond a few
// dozen add little that the others have not shown.
const dictSampleBytes = 32 << 10

// sampleDict builds a compression dictionary from entities spread evenly over those given, so
// that kinds and locations mix; nil when they are too few to sample.
func sampleDict(n int, entity func(i int) []byte) *s2.Dict {
	if n < dictSampleDocs {
		return nil
	}
	var sample []byte
	step := max(n/(dictSampleBytes/1024), 1)
	for i := 0; i < n && len(sample) < dictSampleBytes; i += step {
		// The dictionary keeps the sample's array: one huge entity must neither pin it nor fill it.
		e := entity(i)
		sample = append(sample, e[:min(len(e), dictSampleBytes/8)]...)
	}
	// Compact JSON entities begin alike; s2 starts its repeat offset at the last such beginning.
	return s2.MakeDict(slices.Clip(sample), sample[:min(len(sample), 16)])
}

// packPlainLocked makes the dictionary once the index holds enough entities, and compresses the
// entities held plain so far. Readers may hold the plain documents, so packed copies replace them
// rather than change them.
func (ix *Index) packPlainLocked() {
	if ix.plain == 0 {
		return
	}
	if ix.dict == nil {
		var docs []*indexDoc
		for _, d := range ix.docs {
			if d != nil {
				docs = append(docs, d)
			}
		}
		if ix.dict = sampleDict(len(docs), func(i int) []byte { return docs[i].packed }); ix.dict == nil {
			return
		}
	}
	var scratch []byte
	for id, d := range ix.docs {
		if d == nil || d.dict != nil {
			continue
		}
		packed := *d
		packed.packed, packed.dict = pack(d.packed, ix.dict, &scratch), ix.dict
		ix.docs[id] = &packed
	}
	ix.plain = 0
	ix.prev = nil
}

// Put adds or replaces one final entity, given as JSON with metadata.uid set. It replaces the entity
// with the same uid, and also any other entity with the same ref.
func (ix *Index) Put(raw []byte) error {
	var scratch []byte
	p, err := prepareDoc(raw, ix.dictionary(), &scratch)
	if err != nil {
		return err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.putLocked(&p, false)
	ix.packPlainLocked()
	return nil
}

// dictionary returns the compression dictionary for entities prepared now (nil: keep plain). It
// is set once; an entity prepared before that is stored plain until packPlainLocked packs it.
func (ix *Index) dictionary() *s2.Dict {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.dict
}

// dictionaryFor is dictionary for a batch of raws. A batch that is enough to sample on its own
// (the first load of a catalog, typically) is compressed with a dictionary sampled from itself as
// it is prepared, rather than being stored plain and packed again under the lock; PutBatch keeps
// that dictionary only if the batch is applied.
func (ix *Index) dictionaryFor(raws [][]byte) *s2.Dict {
	if d := ix.dictionary(); d != nil || len(raws) < dictSampleDocs {
		return d
	}
	return sampleDict(len(raws), func(i int) []byte { return raws[i] })
}

// Delete removes the entity with the given uid, if held.
func (ix *Index) Delete(uid string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if id, ok := ix.byUID[uid]; ok {
		ix.removeLocked(id, false)
	}
}

// batchSortThreshold is the batch size above which re-sorting the ref order once beats inserting
// into it one entity at a time.
const batchSortThreshold = 64

// PutBatch applies deletions (by uid) and then puts under one lock, so readers see all of it or
// none. Entities are scanned in parallel before locking; if any fails, nothing is applied.
func (ix *Index) PutBatch(raws [][]byte, deletes []string) error {
	prepared := make([]preparedDoc, len(raws))
	errList := make([]error, len(raws))
	workers := min(runtime.GOMAXPROCS(0), len(raws)/64+1)
	dict := ix.dictionaryFor(raws)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var scratch []byte
			for i := w; i < len(raws); i += workers {
				prepared[i], errList[i] = prepareDoc(raws[i], dict, &scratch)
			}
		})
	}
	wg.Wait()
	for i, err := range errList {
		if err != nil {
			return fmt.Errorf("entity %d of batch: %w", i, err)
		}
	}

	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.dict == nil {
		// A batch sampled for itself; were two such batches ever applied at once, the other one's
		// entities keep the dictionary they were compressed with.
		ix.dict = dict
	}
	if len(ix.byUID) == 0 && len(prepared) > 0 {
		// Initial load: size the maps once instead of growing them through every power of two.
		ix.byUID = make(map[string]uint32, len(prepared))
		ix.byRef = make(map[string]uint32, len(prepared))
		ix.docs = slices.Grow(ix.docs, len(prepared))
	}
	sortLater := len(raws)+len(deletes) > batchSortThreshold
	for _, uid := range deletes {
		if id, ok := ix.byUID[uid]; ok {
			ix.removeLocked(id, sortLater)
		}
	}
	ix.prev = nil
	for i := range prepared {
		ix.putLocked(&prepared[i], sortLater)
	}
	ix.prev = nil
	if sortLater {
		ix.order = ix.order[:0]
		for id, d := range ix.docs {
			if d != nil {
				ix.order = append(ix.order, uint32(id))
			}
		}
		slices.SortFunc(ix.order, func(a, b uint32) int { return strings.Compare(ix.docs[a].ref, ix.docs[b].ref) })
	}
	ix.packPlainLocked()
	return nil
}

// putLocked links a prepared entity in. With sortLater the ref order is left for the caller to
// rebuild.
func (ix *Index) putLocked(p *preparedDoc, sortLater bool) {
	if id, ok := ix.byUID[p.uid]; ok {
		old := ix.docs[id]
		if old.ref == p.ref {
			// Re-stitches that change nothing are common. Compression is deterministic, so packed
			// bytes compare as well as plain ones when the dictionary is the same.
			if old.dict != p.dict || !bytes.Equal(old.packed, p.packed) {
				ix.replaceLocked(id, old, p)
			}
			return
		}
		ix.removeLocked(id, sortLater)
	}
	if id, ok := ix.byRef[p.ref]; ok {
		ix.removeLocked(id, sortLater)
	}

	var id uint32
	if n := len(ix.free); n > 0 {
		id = ix.free[n-1]
		ix.free = ix.free[:n-1]
	} else {
		id = uint32(len(ix.docs))
		ix.docs = append(ix.docs, nil)
		if need := (len(ix.docs) + 63) / 64; need > len(ix.live) {
			ix.live = append(ix.live, 0)
		}
	}

	// Entities arriving together tend to share most keys and many values (same kind, same
	// location), so the previous entity's rows serve as a lookup shortcut.
	var hint []*indexValue
	if ix.prev != nil && ix.docs[ix.prevID] == ix.prev {
		hint = ix.prev.rows
	}
	d := &indexDoc{packed: p.packed, dict: p.dict, uid: p.uid, ref: p.ref}
	d.rows, _ = ix.linkRows(id, p, nil, hint)
	ix.relinkKeys(id, nil, d.rows)

	ix.docs[id] = d
	ix.prev, ix.prevID = d, id
	ix.live.add(id)
	if d.dict == nil {
		ix.plain++
	}
	ix.byUID[d.uid] = id
	ix.byRef[d.ref] = id
	if !sortLater {
		i, _ := slices.BinarySearchFunc(ix.order, d.ref, ix.compareRefAt)
		ix.order = slices.Insert(ix.order, i, id)
	} else {
		ix.order = append(ix.order, id)
	}
}

// replaceLocked swaps in a new version of an entity under the same id and ref. A re-stitch
// usually changes a handful of rows, and rows both versions share keep their postings, which
// spares rewriting the long lists (kind, namespace, lifecycle) every time.
func (ix *Index) replaceLocked(id uint32, old *indexDoc, p *preparedDoc) {
	d := &indexDoc{packed: p.packed, dict: p.dict, uid: p.uid, ref: p.ref}
	var gone []*indexValue
	d.rows, gone = ix.linkRows(id, p, old.rows, nil)
	for _, r := range gone {
		ix.unlinkRow(id, r)
	}
	ix.relinkKeys(id, old.rows, d.rows)
	if old.dict == nil {
		ix.plain--
	}
	if d.dict == nil {
		ix.plain++
	}
	ix.docs[id] = d
	ix.prev, ix.prevID = d, id
}

// linkRows resolves the scanned rows of entity id to index values and adds id to the postings of
// those not in base, the rows id already has; it returns the new rows and the base rows that are
// gone. hint rows, of another entity, only save lookups. Key-level postings are left to
// relinkKeys.
func (ix *Index) linkRows(id uint32, p *preparedDoc, base, hint []*indexValue) (rows, gone []*indexValue) {
	rows = make([]*indexValue, 0, len(p.rows))
	var k *indexKey
	for _, r := range p.rows {
		key, value, orig := p.bytes(r.lower), p.bytes(r.lowerV), p.bytes(r.value)
		for len(base) > 0 && compareIndexValue(base[0], key, r.null, value) < 0 {
			gone, base = append(gone, base[0]), base[1:]
		}
		if len(base) > 0 && compareIndexValue(base[0], key, r.null, value) == 0 {
			kept := base[0]
			base = base[1:]
			if kept.null || kept.orig == string(orig) {
				rows = append(rows, kept)
				k = kept.key
				continue
			}
			gone = append(gone, kept) // respelled: the entity moves to the new spelling
		}

		var v *indexValue
		for len(hint) > 0 && compareIndexValue(hint[0], key, r.null, value) < 0 {
			hint = hint[1:]
		}
		if len(hint) > 0 && hint[0].key.name == string(key) {
			k = hint[0].key
			if c := hint[0]; c.null == r.null && c.value == string(value) && (c.null || c.orig == string(orig)) {
				v = c
			}
		}
		if k == nil || k.name != string(key) {
			if k = ix.keys[string(key)]; k == nil {
				k = &indexKey{name: string(key)}
				ix.keys[k.name] = k
			}
		}
		if v == nil {
			v = k.value(value, orig, r.null)
		}
		v.docs = insertID(v.docs, id)
		rows = append(rows, v)
	}
	return rows, append(gone, base...)
}

// value finds or creates the key's value in the given spelling (or its null).
func (k *indexKey) value(value, orig []byte, null bool) *indexValue {
	if null {
		if k.null == nil {
			k.null = newIndexValue(k, "", "", true)
		}
		return k.null
	}
	first := k.values[string(value)]
	for v := first; v != nil; v = v.next {
		if v.orig == string(orig) {
			return v
		}
	}
	lower := string(value)
	if first != nil {
		lower = first.value
	}
	spelled := lower // shares the lowercased value's bytes when the case matches, as it mostly does
	if !bytes.Equal(orig, value) {
		spelled = string(orig)
	}
	if first == nil {
		if k.values == nil {
			k.values = map[string]*indexValue{}
		}
		v := newIndexValue(k, lower, spelled, false)
		k.values[v.value] = v
		return v
	}
	v := newIndexValue(k, lower, spelled, false)
	v.next, first.next = first.next, v
	return v
}

// unlinkRow drops entity id from one value's postings, and the value once nobody has it.
func (ix *Index) unlinkRow(id uint32, v *indexValue) {
	k := v.key
	v.docs = removeID(v.docs, id)
	if len(v.docs) > 0 {
		return
	}
	if v.null {
		k.null = nil
		return
	}
	first := k.values[v.value]
	switch {
	case first == v && v.next == nil:
		delete(k.values, v.value)
	case first == v:
		k.values[v.value] = v.next
	default:
		for p := first; p != nil; p = p.next {
			if p.next == v {
				p.next = v.next
				break
			}
		}
	}
}

// relinkKeys moves entity id between key postings from the keys of old rows to those of cur
// rows, deleting keys nobody has any more. Rows are sorted by key, so one merge pass does it.
func (ix *Index) relinkKeys(id uint32, old, cur []*indexValue) {
	for len(old) > 0 || len(cur) > 0 {
		var ko, kn *indexKey
		c := 1
		if len(old) > 0 {
			ko, c = old[0].key, -1
		}
		if len(cur) > 0 {
			kn = cur[0].key
			if ko != nil {
				c = strings.Compare(ko.name, kn.name)
			}
		}
		if c <= 0 {
			for len(old) > 0 && old[0].key == ko {
				old = old[1:]
			}
		}
		if c >= 0 {
			for len(cur) > 0 && cur[0].key == kn {
				cur = cur[1:]
			}
		}
		switch {
		case c < 0:
			ko.docs = removeID(ko.docs, id)
			if len(ko.docs) == 0 {
				delete(ix.keys, ko.name)
			}
		case c > 0:
			kn.docs = insertID(kn.docs, id)
		}
	}
}

// compareIndexValue orders an index value against a scanned row the way SearchEntries sorts.
func compareIndexValue(v *indexValue, key []byte, null bool, value []byte) int {
	if c := compareStringBytes(v.key.name, key); c != 0 {
		return c
	}
	if v.null != null {
		if v.null {
			return -1
		}
		return 1
	}
	return compareStringBytes(v.value, value)
}

// compareStringBytes is strings.Compare without converting b; the compiler does not allocate for
// conversions that only feed comparison operators.
func compareStringBytes(s string, b []byte) int {
	switch {
	case s == string(b):
		return 0
	case s < string(b):
		return -1
	}
	return 1
}

func (ix *Index) compareRefAt(id uint32, ref string) int {
	return strings.Compare(ix.docs[id].ref, ref)
}

func (ix *Index) removeLocked(id uint32, sortLater bool) {
	d := ix.docs[id]
	for _, r := range d.rows {
		ix.unlinkRow(id, r)
	}
	ix.relinkKeys(id, d.rows, nil)
	// In a batch the order is rebuilt afterwards, which drops the id.
	if !sortLater {
		if i, found := slices.BinarySearchFunc(ix.order, d.ref, ix.compareRefAt); found {
			ix.order = slices.Delete(ix.order, i, i+1)
		}
	}
	ix.live.del(id)
	if d.dict == nil {
		ix.plain--
	}
	delete(ix.byUID, d.uid)
	delete(ix.byRef, d.ref)
	ix.docs[id] = nil
	ix.free = append(ix.free, id)
}

// insertID adds id to a sorted posting list; ingest hands out increasing ids, so it usually appends.
func insertID(list []uint32, id uint32) []uint32 {
	if n := len(list); n == 0 || list[n-1] < id {
		return append(list, id)
	}
	i, found := slices.BinarySearch(list, id)
	if found {
		return list
	}
	return slices.Insert(list, i, id)
}

func removeID(list []uint32, id uint32) []uint32 {
	if i, found := slices.BinarySearch(list, id); found {
		return slices.Delete(list, i, i+1)
	}
	return list
}

// docSet is a bitset over internal ids.
type docSet []uint64

func (s docSet) has(id uint32) bool {
	w := int(id >> 6)
	return w < len(s) && s[w]&(1<<(id&63)) != 0
}
func (s docSet) add(id uint32) { s[id>>6] |= 1 << (id & 63) }
func (s docSet) del(id uint32) { s[id>>6] &^= 1 << (id & 63) }
func (s docSet) addAll(ids []uint32) {
	for _, id := range ids {
		s[id>>6] |= 1 << (id & 63)
	}
}
func (s docSet) and(o docSet) {
	for i := range s {
		s[i] &= o[i]
	}
}
func (s docSet) or(o docSet) {
	for i := range s {
		s[i] |= o[i]
	}
}
func (s docSet) andNot(o docSet) {
	for i := range s {
		s[i] &^= o[i]
	}
}
func (s docSet) count() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}
func (s docSet) empty() bool {
	for _, w := range s {
		if w != 0 {
			return false
		}
	}
	return true
}

// ids lists the members in id order.
func (s docSet) ids() []uint32 {
	out := make([]uint32, 0, s.count())
	for i, w := range s {
		for w != 0 {
			out = append(out, uint32(i<<6+bits.TrailingZeros64(w)))
			w &= w - 1
		}
	}
	return out
}

// match evaluates a filter; nil means every live entity and yields nil (callers skip the test).
func (ix *Index) match(f Filter) docSet {
	if f == nil {
		return nil
	}
	return ix.eval(f.node())
}

func (ix *Index) eval(n *filterNode) docSet {
	switch n.op {
	case opAll:
		if len(n.kids) == 0 {
			return slices.Clone(ix.live)
		}
		s := ix.eval(n.kids[0])
		for _, k := range n.kids[1:] {
			if s.empty() {
				break
			}
			s.and(ix.eval(k))
		}
		return s
	case opAny:
		s := make(docSet, len(ix.live))
		for _, k := range n.kids {
			s.or(ix.eval(k))
		}
		return s
	case opNot:
		s := slices.Clone(ix.live)
		s.andNot(ix.eval(n.kids[0]))
		return s
	}
	s := make(docSet, len(ix.live))
	k := ix.keys[n.key]
	if k == nil {
		return s
	}
	switch n.op {
	case opExists:
		s.addAll(k.docs)
	case opIn:
		for _, want := range n.values {
			for v := range k.values[want].spellings {
				s.addAll(v.docs)
			}
		}
	case opPrefix:
		for value, first := range k.values {
			if strings.HasPrefix(value, n.values[0]) {
				for v := range first.spellings {
					s.addAll(v.docs)
				}
			}
		}
	}
	return s
}

// fullText matches entities with a value containing term (SQL LIKE '%term%', so '%' and '_' in
// the term are wildcards, as in Backstage) under any of the keys.
func (ix *Index) fullText(term string, keys []string) docSet {
	s := make(docSet, len(ix.live))
	match := func(value string) bool { return strings.Contains(value, term) }
	if strings.ContainsAny(term, "%_") {
		pattern := "%" + term + "%"
		match = func(value string) bool { return likeMatch(value, pattern) }
	}
	for _, key := range keys {
		k := ix.keys[strings.ToLower(key)]
		if k == nil {
			continue
		}
		for value, first := range k.values {
			if match(value) {
				for v := range first.spellings {
					s.addAll(v.docs)
				}
			}
		}
	}
	return s
}

// likeMatch is SQL LIKE without an escape character: '%' is any run, '_' any one character.
func likeMatch(s, pattern string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '%':
			for len(pattern) > 0 && pattern[0] == '%' {
				pattern = pattern[1:]
			}
			if pattern == "" {
				return true
			}
			for i := 0; i <= len(s); {
				if likeMatch(s[i:], pattern) {
					return true
				}
				if i == len(s) {
					break
				}
				_, size := utf8.DecodeRuneInString(s[i:])
				i += size
			}
			return false
		case '_':
			if s == "" {
				return false
			}
			_, size := utf8.DecodeRuneInString(s)
			s, pattern = s[size:], pattern[1:]
		default:
			_, psize := utf8.DecodeRuneInString(pattern)
			if !strings.HasPrefix(s, pattern[:psize]) {
				return false
			}
			s, pattern = s[psize:], pattern[psize:]
		}
	}
	return s == ""
}

// sortValues picks, for every entity in m, the value of key it sorts by: the smallest for
// ascending order and the largest for descending, nil when it has none or only nulls.
func (ix *Index) sortValues(key string, desc bool, m docSet) []*indexValue {
	out := make([]*indexValue, len(ix.docs))
	k := ix.keys[strings.ToLower(key)]
	if k == nil {
		return out
	}
	if m != nil && len(k.values) > 64 {
		if n := m.count(); n < len(k.values)/4 {
			// Few entities against many values: look each entity's rows up instead.
			for i, w := range m {
				for w != 0 {
					id := uint32(i<<6 + bits.TrailingZeros64(w))
					w &= w - 1
					out[id] = ix.docs[id].sortValue(k, desc)
				}
			}
			return out
		}
	}
	for _, first := range k.values {
		for v := range first.spellings {
			for _, id := range v.docs {
				if m != nil && !m.has(id) {
					continue
				}
				cur := out[id]
				if cur == nil || (!desc && v.value < cur.value) || (desc && v.value > cur.value) {
					out[id] = v
				}
			}
		}
	}
	return out
}

// sortValue is the entity's value of k to sort by (see sortValues); rows are sorted by key and
// then value, so the key's rows are found by binary search and are already in value order.
func (d *indexDoc) sortValue(k *indexKey, desc bool) *indexValue {
	i, _ := slices.BinarySearchFunc(d.rows, k.name, func(v *indexValue, name string) int { return strings.Compare(v.key.name, name) })
	var best *indexValue
	for ; i < len(d.rows) && d.rows[i].key == k; i++ {
		if v := d.rows[i]; !v.null {
			if !desc {
				return v
			}
			best = v
		}
	}
	return best
}

// compareSorted orders by value (nulls last whatever the direction), then by uid, as Backstage
// orders by the search value and then entity_id.
func compareSorted(av *indexValue, auid string, bv *indexValue, buid string, desc, uidDesc bool) int {
	if c := compareSortValue(av, bv, desc); c != 0 {
		return c
	}
	c := strings.Compare(auid, buid)
	if uidDesc {
		c = -c
	}
	return c
}

func compareSortValue(a, b *indexValue, desc bool) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	c := strings.Compare(a.value, b.value)
	if desc {
		c = -c
	}
	return c
}

// ListRequest is GET /entities: filter, optional sort, offset paging.
type ListRequest struct {
	Filter Filter
	// Order sorts on each field's lowercased search value, nulls last, then uid; none sorts by
	// canonical ref.
	Order  []OrderField
	Offset int
	// Limit 0 means no limit.
	Limit  int
	Fields []string
}

// List returns one page of GET /entities and whether more entities follow it.
func (ix *Index) List(req ListRequest) (items []json.RawMessage, more bool) {
	page, more := ix.ListPage(req)
	return page.Items(), more
}

// ListPage is List for callers that write the entities out one at a time (see Page).
func (ix *Index) ListPage(req ListRequest) (page Page, more bool) {
	ix.mu.RLock()
	m := ix.match(req.Filter)
	var ids []uint32
	if len(req.Order) == 0 {
		ids = ix.inRefOrder(m)
	} else {
		ids = ix.members(m)
	}
	lo := min(max(req.Offset, 0), len(ids))
	hi := len(ids)
	if req.Limit > 0 && lo+req.Limit < hi {
		hi, more = lo+req.Limit, true
	}
	if len(req.Order) > 0 {
		ix.sortPrefix(ids, m, hi, req.Order)
	}
	page = ix.page(ids[lo:hi], req.Fields)
	ix.mu.RUnlock()
	return page, more
}

// inRefOrder lists the entities of m (nil: all) by canonical ref.
func (ix *Index) inRefOrder(m docSet) []uint32 {
	if m == nil {
		return ix.order
	}
	out := make([]uint32, 0, m.count())
	for _, id := range ix.order {
		if m.has(id) {
			out = append(out, id)
		}
	}
	return out
}

// members lists the entities of m (nil: all) in a fresh slice the caller may reorder.
func (ix *Index) members(m docSet) []uint32 {
	if m == nil {
		return slices.Clone(ix.order)
	}
	return m.ids()
}

// sortPrefix orders ids, the members of m, by the order fields far enough that ids[:n] is final.
func (ix *Index) sortPrefix(ids []uint32, m docSet, n int, order []OrderField) {
	vals := make([][]*indexValue, len(order))
	for i, o := range order {
		vals[i] = ix.sortValues(o.Field, o.Desc, m)
	}
	sortSmallest(ids, n, func(a, b uint32) int {
		for i, o := range order {
			if c := compareSortValue(vals[i][a], vals[i][b], o.Desc); c != 0 {
				return c
			}
		}
		return strings.Compare(ix.docs[a].uid, ix.docs[b].uid)
	})
}

// sortSmallest reorders ids so that ids[:n] holds the n smallest in order; the rest is left in no
// particular order. Pages are small next to the result sets they come from, so a bounded heap
// beats sorting everything.
func sortSmallest(ids []uint32, n int, cmp func(a, b uint32) int) {
	n = min(n, len(ids))
	if n == 0 {
		return
	}
	if n > len(ids)/8 {
		slices.SortFunc(ids, cmp)
		return
	}
	// ids[:n] becomes a max-heap of the n smallest seen so far.
	h := ids[:n]
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= n {
				return
			}
			c := l
			if r := l + 1; r < n && cmp(h[r], h[l]) > 0 {
				c = r
			}
			if cmp(h[c], h[i]) <= 0 {
				return
			}
			h[i], h[c] = h[c], h[i]
			i = c
		}
	}
	for i := n/2 - 1; i >= 0; i-- {
		down(i)
	}
	for j := n; j < len(ids); j++ {
		if cmp(ids[j], h[0]) < 0 {
			h[0], ids[j] = ids[j], h[0]
			down(0)
		}
	}
	slices.SortFunc(h, cmp)
}

// Page is a page of entities as they are served. Entities are held compressed, and a page read
// with Item decompresses each into one reused buffer, so writing out a large page allocates
// nothing in proportion to it. Documents never change once linked in, so a page needs no lock.
type Page struct {
	docs   []*indexDoc
	fields []string // projection; none serves whole entities
}

func (ix *Index) page(ids []uint32, fields []string) Page {
	docs := make([]*indexDoc, len(ids))
	for i, id := range ids {
		docs[i] = ix.docs[id]
	}
	return Page{docs: docs, fields: fields}
}

// Len is the number of entities on the page.
func (p Page) Len() int { return len(p.docs) }

// Item returns the JSON of entity i. A packed entity is decompressed into *buf, which is grown
// when too small and reused otherwise; the result is only valid until *buf is used again, and must
// not be modified.
func (p Page) Item(i int, buf *[]byte) []byte {
	raw := p.docs[i].decode(buf)
	if len(p.fields) > 0 {
		return projectRaw(raw, p.fields)
	}
	return raw
}

// Items returns every entity of the page, each in a slice of its own.
func (p Page) Items() []json.RawMessage {
	out := make([]json.RawMessage, len(p.docs))
	for i := range p.docs {
		var buf []byte // each item keeps its own
		out[i] = p.Item(i, &buf)
	}
	return out
}

func projectRaw(raw []byte, fields []string) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers pass through exactly as stored
	var e map[string]any
	if err := dec.Decode(&e); err != nil {
		return json.RawMessage("{}") // stored bytes were validated on Put
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as JSON.stringify
	_ = enc.Encode(map[string]any(Project(Entity(e), fields)))
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// FacetCount is one value of a facet and how many entities have it.
type FacetCount struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// Facets counts, for each requested key, the entities per original-case value among those f
// matches. Every requested facet is present in the result, keyed as requested; nulls are left out.
// Values are ordered by count, then value.
func (ix *Index) Facets(facets []string, f Filter) map[string][]FacetCount {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	m := ix.match(f)
	out := make(map[string][]FacetCount, len(facets))
	for _, facet := range facets {
		counts := []FacetCount{}
		if k := ix.keys[strings.ToLower(facet)]; k != nil {
			for _, v := range k.values {
				counts = appendFacetCounts(counts, v, m)
			}
		}
		slices.SortFunc(counts, func(a, b FacetCount) int {
			if a.Count != b.Count {
				return b.Count - a.Count
			}
			return strings.Compare(a.Value, b.Value)
		})
		out[facet] = counts
	}
	return out
}

// appendFacetCounts counts the entities of m (nil: all) with each spelling of one value.
func appendFacetCounts(counts []FacetCount, first *indexValue, m docSet) []FacetCount {
	for v := range first.spellings {
		n := len(v.docs)
		if m != nil {
			n = 0
			for _, id := range v.docs {
				if m.has(id) {
					n++
				}
			}
		}
		if n > 0 {
			counts = append(counts, FacetCount{Value: v.orig, Count: n})
		}
	}
	return counts
}
