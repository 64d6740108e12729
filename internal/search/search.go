// Package search is Portal's one search over the software catalog and every built TechDocs page,
// answering in the shape of Backstage's search API (/api/search/query). Documents live in the
// database's own full-text index (SQLite FTS5 or PostgreSQL tsvector, behind the Store port), so a
// query is an index lookup on every replica, never a scan.
//
// Ranking puts titles and names above headings and headings above body text; words are stemmed
// (English); the last word of a query also matches as a prefix, so results follow a person typing;
// and a word that matches no title, name or heading is corrected against those words through a
// trigram vocabulary, so "paymnt" finds payment-service. The vocabulary lives in ordinary tables
// that both engines index the same way, so both engines correct the same typos.
package search

import (
	"context"
	"time"
)

// Document types, as Backstage names them.
const (
	TypeCatalog  = "software-catalog"
	TypeTechDocs = "techdocs"
)

// Document is one searchable thing: an entity or a docs page.
type Document struct {
	Type     string
	Title    string
	Text     string
	Location string
	// Names are identifiers people type (an entity's name and tags); they rank with the title.
	Names string
	// Identifier is what, typed in full, names this document (an entity's name): a query that
	// is exactly it, or exactly the title, puts the document first.
	Identifier string
	// Headings are a page's section titles; they rank between the title and the text.
	Headings string
	// Fields are the document's other fields (kind, namespace, name, owner, lifecycle, ...): they
	// are returned with the document and are what filters match.
	Fields map[string]string
	// Vocabulary are the words of Title, Names and Headings that typo correction may suggest.
	// Service fills it in; stores keep it with the document.
	Vocabulary []string
}

// SourceUpdate replaces every document of one source: an entity for the catalog
// ("catalog:<uid>"), an entity's site for TechDocs ("techdocs:<ref>"). A nil Documents deletes
// the source.
type SourceUpdate struct {
	Source string
	// Version orders updates of the same source: an update older than the one stored is skipped,
	// so a slow writer cannot put back what a newer one replaced.
	Version   int64
	Documents []Document
}

// Cursor is how far the catalog indexer got in the catalog's change feed, and who moved it.
type Cursor struct {
	Owner   string
	Version int64
}

// Term is one word of a compiled query.
type Term struct {
	Word string
	// Prefix also matches words that start with Word.
	Prefix bool
}

// StoreQuery is a query compiled for a Store.
type StoreQuery struct {
	// Groups are ANDed; the terms of a group are ORed. No groups matches every document (listing
	// by title).
	Groups [][]Term
	// Types, when set, limits the documents to these types.
	Types []string
	// Filters limits documents to those whose field (key) has one of the values, compared
	// case-insensitively.
	Filters map[string][]string
	Offset  int
	Limit   int
	// Exact are lowercased phrases that, equal to a document's title or identifier, rank it first.
	Exact []string
	// PreTag and PostTag surround matched words in highlights.
	PreTag, PostTag string
}

// Hit is one matching document, best first.
type Hit struct {
	Document Document
	// TitleHighlight and TextHighlight are the title and an excerpt of the text with matches
	// between the query's tags; empty when the query had no words.
	TitleHighlight string
	TextHighlight  string
}

// Store keeps documents and answers queries. internal/store implements it on SQLite and
// PostgreSQL.
type Store interface {
	// ApplySearch applies updates in one transaction. With a cursor, the catalog indexer's cursor
	// moves to cursor.Version in the same transaction, which fails with errs.Conflict (changing
	// nothing) unless cursor.Owner still holds the indexer lease.
	ApplySearch(ctx context.Context, updates []SourceUpdate, cursor *Cursor) error
	// SearchDocuments returns one page of matches and the number of matches in all.
	SearchDocuments(ctx context.Context, q StoreQuery) ([]Hit, int, error)
	// SimilarTerms returns up to limit vocabulary words that share the most of the given
	// trigrams, most shared first.
	SimilarTerms(ctx context.Context, trigrams []string, limit int) ([]string, error)
	// ClaimIndexer takes or renews the catalog indexer's lease for owner and returns the cursor;
	// held is false while another owner's lease runs.
	ClaimIndexer(ctx context.Context, owner string, lease time.Duration) (version int64, held bool, err error)
	// SearchSources lists the sources whose name starts with prefix.
	SearchSources(ctx context.Context, prefix string) ([]string, error)
}
