package search

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/catalog/service"
	"github.com/billpay/portal/internal/errs"
)

// Paging, as Backstage's engines page: 25 results unless the query asks for another size.
const (
	DefaultPageLimit = 25
	MaxPageLimit     = 100
)

// resultTextRunes bounds the text returned with each result: a docs page's text is the whole
// page, and 25 whole pages would make a search answer megabytes long. The highlight carries the
// matching excerpt.
const resultTextRunes = 1000

// Query is a search request, as Backstage's search API takes it.
type Query struct {
	Term string
	// Types limits results to these document types; empty means every type.
	Types []string
	// Filters limits results to documents whose field has one of the values.
	Filters    map[string][]string
	PageCursor string
	// PageLimit is the page size; 0 means DefaultPageLimit.
	PageLimit int
}

// Result is one search result.
type Result struct {
	Type string
	// Document is the document as Backstage returns it: title, text and location beside the
	// document's other fields.
	Document  map[string]string
	Highlight *Highlight
	// Rank is the result's position in the whole result list, from 1.
	Rank int
}

// Highlight marks where a result matched.
type Highlight struct {
	PreTag, PostTag string
	Fields          map[string]string
}

// ResultSet is one page of results.
type ResultSet struct {
	Results            []Result
	NextPageCursor     string
	PreviousPageCursor string
	NumberOfResults    int
}

// CatalogFeed is the catalog's change feed (implemented by the store beside the catalog's own
// tables), which the indexer follows.
type CatalogFeed interface {
	ChangesSince(ctx context.Context, version int64, limit int) ([]service.Change, error)
	CatalogVersion(ctx context.Context) (version, tombstonesBefore int64, err error)
}

// Options configures a Service.
type Options struct {
	// Owner names this replica in the indexer lease.
	Owner string
	// Lease is how long an indexer keeps the catalog to itself after its last renewal.
	Lease time.Duration
	Log   *slog.Logger
	// CaughtUp, when set, reports whether this replica's catalog reads already reflect a catalog version.
	// Indexing waits for it, so that making entities queryable is never slowed down by indexing them.
	CaughtUp func(version int64) bool
}

// Service answers queries and keeps the index in step with the catalog.
type Service struct {
	store   Store
	feed    CatalogFeed
	opts    Options
	preTag  string
	postTag string
}

// New returns a service over store; feed may be nil when nothing follows the catalog (tests).
func New(store Store, feed CatalogFeed, opts Options) *Service {
	if opts.Lease <= 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Owner == "" {
		opts.Owner = randomHex(8)
	}
	// Tags no document can contain by chance, as Backstage's PostgreSQL engine makes them, so a
	// client can split highlights on them without mistaking text for markup.
	tag := randomHex(8)
	return &Service{store: store, feed: feed, opts: opts, preTag: "<" + tag + ">", postTag: "</" + tag + ">"}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Query runs a search. It returns errs.Invalid for a malformed cursor, a page limit out of range
// or a term longer than 1000 characters.
func (s *Service) Query(ctx context.Context, q Query) (ResultSet, error) {
	limit := q.PageLimit
	switch {
	case limit == 0:
		limit = DefaultPageLimit
	case limit < 0 || limit > MaxPageLimit:
		return ResultSet{}, errs.E(errs.Invalid, "pageLimit must be between 1 and %d", MaxPageLimit)
	}
	if utf8.RuneCountInString(q.Term) > maxTermLength {
		return ResultSet{}, errs.E(errs.Invalid, "term is longer than %d characters", maxTermLength)
	}
	page, err := DecodePageCursor(q.PageCursor)
	if err != nil {
		return ResultSet{}, err
	}
	words := queryWords(q.Term)
	if len(words) == 0 && strings.TrimSpace(q.Term) != "" && len(Words(q.Term)) > 0 {
		// Only stop words: nothing both engines can match on.
		return ResultSet{Results: []Result{}}, nil
	}
	groups, err := s.compile(ctx, words)
	if err != nil {
		return ResultSet{}, err
	}
	filters := map[string][]string{}
	for k, vs := range q.Filters {
		for _, v := range vs {
			filters[k] = append(filters[k], strings.ToLower(v))
		}
	}
	hits, total, err := s.store.SearchDocuments(ctx, StoreQuery{Groups: groups, Types: q.Types, Filters: filters,
		Offset: page * limit, Limit: limit + 1, Exact: exactPhrases(groups), PreTag: s.preTag, PostTag: s.postTag})
	if err != nil {
		return ResultSet{}, err
	}
	out := ResultSet{Results: make([]Result, 0, min(len(hits), limit)), NumberOfResults: total}
	if len(hits) > limit {
		hits = hits[:limit]
		out.NextPageCursor = EncodePageCursor(page + 1)
	}
	if page > 0 {
		out.PreviousPageCursor = EncodePageCursor(page - 1)
	}
	for i, h := range hits {
		doc := map[string]string{}
		for k, v := range h.Document.Fields {
			doc[k] = v
		}
		doc["title"], doc["text"], doc["location"] = h.Document.Title, truncate(h.Document.Text, resultTextRunes), h.Document.Location
		r := Result{Type: h.Document.Type, Document: doc, Rank: page*limit + i + 1}
		if len(groups) > 0 {
			r.Highlight = &Highlight{PreTag: s.preTag, PostTag: s.postTag, Fields: map[string]string{
				"title": h.TitleHighlight, "text": h.TextHighlight}}
		}
		out.Results = append(out.Results, r)
	}
	return out, nil
}

// compile turns words into term groups: each word as itself and as a prefix, and, when no title,
// name or heading has a word starting with it, the vocabulary words it is most likely a slip for.
func (s *Service) compile(ctx context.Context, words []string) ([][]Term, error) {
	groups := make([][]Term, 0, len(words))
	for _, w := range words {
		group := []Term{{Word: w, Prefix: true}}
		if utf8.RuneCountInString(w) >= minCorrectRunes && !isNumber(w) {
			fixes, err := s.corrections(ctx, w)
			if err != nil {
				return nil, err
			}
			for _, f := range fixes {
				group = append(group, Term{Word: f})
			}
		}
		groups = append(groups, group)
	}
	return groups, nil
}

func (s *Service) corrections(ctx context.Context, word string) ([]string, error) {
	cands, err := s.store.SimilarTerms(ctx, Trigrams(word), similarCandidate)
	if err != nil {
		return nil, err
	}
	type scored struct {
		term string
		dist int
		sim  float64
	}
	var keep []scored
	for _, c := range cands {
		if strings.HasPrefix(c, word) {
			// The word is known (or the start of a known one): nothing to correct.
			return nil, nil
		}
		if d := editDistance(word, c); d <= maxEdits(word) {
			keep = append(keep, scored{c, d, similarity(word, c)})
		}
	}
	sort.Slice(keep, func(i, j int) bool {
		if keep[i].dist != keep[j].dist {
			return keep[i].dist < keep[j].dist
		}
		if keep[i].sim != keep[j].sim {
			return keep[i].sim > keep[j].sim
		}
		return keep[i].term < keep[j].term
	})
	var out []string
	for _, k := range keep {
		out = append(out, k.term)
		if len(out) == maxCorrections {
			break
		}
	}
	return out, nil
}

// exactPhrases are the query read as a whole name, with each misspelt word taken as its best
// correction: "paymnt servce" is "payment service" (a title) and "payment-service" (a name).
func exactPhrases(groups [][]Term) []string {
	if len(groups) == 0 {
		return nil
	}
	words := make([]string, len(groups))
	for i, g := range groups {
		words[i] = g[0].Word
		if len(g) > 1 {
			words[i] = g[1].Word
		}
	}
	return []string{strings.Join(words, " "), strings.Join(words, "-")}
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n]
	if i := strings.LastIndexAny(string(r), " \n\t"); i > len(string(r))/2 {
		return string(r)[:i] + "…"
	}
	return string(r) + "…"
}

// EncodePageCursor is Backstage's page cursor: the page number, base64-encoded.
func EncodePageCursor(page int) string {
	return base64.StdEncoding.EncodeToString([]byte(strconv.Itoa(page)))
}

// DecodePageCursor reads a page cursor; "" is the first page. It returns errs.Invalid for anything
// else that is not a page number.
func DecodePageCursor(c string) (int, error) {
	if c == "" {
		return 0, nil
	}
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, errs.E(errs.Invalid, "pageCursor %q is not a page cursor", c)
	}
	n, err := strconv.Atoi(string(b))
	if err != nil || n < 0 || n > 1_000_000 {
		return 0, errs.E(errs.Invalid, "pageCursor %q is not a page cursor", c)
	}
	return n, nil
}

// maxIndexedBytes bounds the text indexed per document: PostgreSQL refuses a tsvector over 1 MB,
// and a page that long is found by its first quarter megabyte as well as by all of it.
const maxIndexedBytes = 256 << 10

// prepare fills in what the store keeps beside each document and trims what no engine stores:
// text past maxIndexedBytes and NUL characters, which PostgreSQL's text type refuses.
func prepare(updates []SourceUpdate) {
	clean := func(s string, limit int) string {
		if len(s) > limit {
			s = strings.ToValidUTF8(s[:limit], "")
		}
		return strings.ReplaceAll(s, "\x00", "")
	}
	for i := range updates {
		for j := range updates[i].Documents {
			d := &updates[i].Documents[j]
			d.Title, d.Names, d.Location = clean(d.Title, 4096), clean(d.Names, 16<<10), clean(d.Location, 4096)
			d.Identifier = clean(d.Identifier, 4096)
			d.Headings, d.Text = clean(d.Headings, 64<<10), clean(d.Text, maxIndexedBytes)
			for k, v := range d.Fields {
				d.Fields[k] = clean(v, 4096)
			}
			d.Vocabulary = Vocabulary(*d)
			if d.Fields == nil {
				d.Fields = map[string]string{}
			}
		}
	}
}

// Replace makes docs the documents of source (nil removes them). Version orders writes to the
// same source (see SourceUpdate).
func (s *Service) Replace(ctx context.Context, source string, version int64, docs []Document) error {
	if docs == nil {
		docs = []Document{}
	}
	u := []SourceUpdate{{Source: source, Version: version, Documents: docs}}
	prepare(u)
	return s.store.ApplySearch(ctx, u, nil)
}

// Remove deletes the documents of source.
func (s *Service) Remove(ctx context.Context, source string, version int64) error {
	return s.store.ApplySearch(ctx, []SourceUpdate{{Source: source, Version: version}}, nil)
}

// maxIndexDeferral bounds how long a catalog that never stops changing can hold indexing back.
const maxIndexDeferral = 10 * time.Second

// indexPage is how many catalog changes one indexing transaction applies.
const indexPage = 500

// FollowCatalog keeps the catalog's documents in step with its change feed until ctx ends. Every
// replica runs it; the one holding the indexer lease indexes, the others stand by, so each change
// is indexed once and a replica that dies hands over when its lease runs out.
//
// While the catalog is still changing from one poll to the next (an ingest), indexing waits, for up to
// maxIndexDeferral: on SQLite it would otherwise take the single write lock and a core from the ingest that
// makes entities queryable, and search can trail the catalog by a few seconds.
func (s *Service) FollowCatalog(ctx context.Context, poll time.Duration) error {
	t := time.NewTicker(poll)
	defer t.Stop()
	var seen int64
	var deferredSince time.Time
	for {
		latest, _, err := s.feed.CatalogVersion(ctx)
		moving := err == nil && (latest != seen || (s.opts.CaughtUp != nil && !s.opts.CaughtUp(latest)))
		seen = latest
		if moving && (deferredSince.IsZero() || time.Since(deferredSince) < maxIndexDeferral) {
			if deferredSince.IsZero() {
				deferredSince = time.Now()
			}
		} else {
			deferredSince = time.Time{}
			if err := s.IndexCatalog(ctx); err != nil && ctx.Err() == nil {
				s.opts.Log.Error("search indexing of the catalog failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// IndexCatalog applies every catalog change since the indexer's cursor, if this replica holds (or
// can take) the indexer lease. When deletions older than the cursor were purged from the feed,
// the catalog's documents are rebuilt from scratch instead.
func (s *Service) IndexCatalog(ctx context.Context) error {
	cursor, held, err := s.store.ClaimIndexer(ctx, s.opts.Owner, s.opts.Lease)
	if err != nil || !held {
		return err
	}
	latest, purgedBefore, err := s.feed.CatalogVersion(ctx)
	if err != nil {
		return err
	}
	rebuild := cursor < purgedBefore
	var live map[string]bool
	if rebuild {
		cursor, live = 0, map[string]bool{}
	}
	for {
		changes, err := s.feed.ChangesSince(ctx, cursor, indexPage)
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			break
		}
		updates := make([]SourceUpdate, 0, len(changes))
		for _, c := range changes {
			u := SourceUpdate{Source: CatalogSource(c.UID), Version: c.Version}
			if c.Raw != nil {
				var e catalog.Entity
				if err := json.Unmarshal(c.Raw, &e); err != nil {
					s.opts.Log.Error("search: stored entity is not JSON", "uid", c.UID, "err", err)
				} else if d, ok := CatalogDocument(e); ok {
					u.Documents = []Document{d}
					if live != nil {
						live[u.Source] = true
					}
				}
			}
			updates = append(updates, u)
			cursor = c.Version
		}
		prepare(updates)
		if err := s.store.ApplySearch(ctx, updates, &Cursor{Owner: s.opts.Owner, Version: cursor}); err != nil {
			return err
		}
		if len(changes) < indexPage {
			break
		}
	}
	if rebuild {
		sources, err := s.store.SearchSources(ctx, catalogSourcePrefix)
		if err != nil {
			return err
		}
		// The last change seen may be older than the purged deletions; the catalog's version is not.
		var gone []SourceUpdate
		for _, src := range sources {
			if !live[src] {
				gone = append(gone, SourceUpdate{Source: src, Version: max(cursor, latest)})
			}
		}
		for len(gone) > 0 {
			n := min(len(gone), indexPage)
			if err := s.store.ApplySearch(ctx, gone[:n], &Cursor{Owner: s.opts.Owner, Version: cursor}); err != nil {
				return err
			}
			gone = slices.Delete(gone, 0, n)
		}
	}
	return nil
}
