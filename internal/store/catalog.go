package store

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/google/uuid"

	"entgo.io/ent/dialect"

	"github.com/billpay/portal/ent"
	"github.com/billpay/portal/ent/catalogversion"
	"github.com/billpay/portal/ent/finalentity"
	"github.com/billpay/portal/ent/location"
	"github.com/billpay/portal/ent/refreshkey"
	"github.com/billpay/portal/ent/refreshstate"
	"github.com/billpay/portal/ent/refreshstatereference"
	"github.com/billpay/portal/ent/relation"
	"github.com/billpay/portal/ent/stitchqueue"
	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/catalog/processing"
	"github.com/billpay/portal/internal/catalog/service"
	"github.com/billpay/portal/internal/errs"
)

var (
	_ processing.Store   = (*Store)(nil)
	_ service.ChangeFeed = (*Store)(nil)
)

// chunkSize keeps IN lists well under every engine's bound-parameter limit.
const chunkSize = 2000

func chunks[T any](items []T) [][]T {
	var out [][]T
	for i := 0; i < len(items); i += chunkSize {
		out = append(out, items[i:min(i+chunkSize, len(items))])
	}
	return out
}

// ClaimDue implements processing.Store. On PostgreSQL the selected rows are locked with SKIP LOCKED,
// so replicas claiming at the same moment get disjoint batches; moving next_update_at forward in the
// same transaction keeps them from being claimed again until they are due.
func (s *Store) ClaimDue(ctx context.Context, limit int, interval time.Duration) ([]processing.Claim, error) {
	var claims []processing.Claim
	err := s.withTx(ctx, func(tx *ent.Tx) error {
		now := s.now()
		q := tx.RefreshState.Query().
			Where(refreshstate.NextUpdateAtLTE(now), refreshstate.Or(refreshstate.ClaimedUntilIsNil(), refreshstate.ClaimedUntilLT(now))).
			Order(refreshstate.ByNextUpdateAt()).
			Limit(limit)
		if s.dialect == dialect.Postgres {
			q = q.ForUpdate(entsql.WithLockAction(entsql.SkipLocked))
		}
		rows, err := q.All(ctx)
		if err != nil {
			return dbErr(err, "claim due entities")
		}
		if len(rows) == 0 {
			return nil
		}
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
			var e catalog.Entity
			if err := json.Unmarshal([]byte(r.UnprocessedEntity), &e); err != nil {
				return errs.Wrap(errs.Internal, err, "stored entity %s is corrupt", r.EntityRef)
			}
			c := processing.Claim{ID: r.ID, EntityRef: r.EntityRef, Unprocessed: e, ResultHash: r.ResultHash}
			if r.LocationKey != nil {
				c.LocationKey = *r.LocationKey
			}
			claims = append(claims, c)
		}
		if err := tx.RefreshState.Update().Where(refreshstate.IDIn(ids...)).SetNextUpdateAt(now.Add(interval)).
			SetClaimedUntil(now.Add(claimLease)).Exec(ctx); err != nil {
			return dbErr(err, "schedule claimed entities")
		}
		return nil
	})
	return claims, err
}

// claimLease is how long a claimed entity stays with the replica that claimed it. A replica that
// dies mid-batch holds its entities this long; one that finishes releases them at commit.
const claimLease = 5 * time.Minute

// childWasDeleted forces a parent to be written again after one of its children was deleted.
const childWasDeleted = "child-was-deleted"

// Commit implements processing.Store: one transaction writes every changed result, upserts the
// children they emitted (first emitter of a ref wins; later ones get a conflict error), and
// re-stitches every entity whose final form may have changed.
func (s *Store) Commit(ctx context.Context, results []processing.Result) error {
	var changed []*processing.Result
	for i := range results {
		r := &results[i]
		if r.Hash != r.Claim.ResultHash || r.Claim.ResultHash == childWasDeleted {
			changed = append(changed, r)
		}
	}
	var stitched []service.Change
	if f := s.follower.Load(); f != nil && s.dialect == dialect.SQLite {
		(*f).CommitStarting()
		defer func() { (*f).CommitDone(stitched) }()
	}
	err := s.withTx(ctx, func(tx *ent.Tx) error {
		if err := releaseClaims(ctx, tx, results); err != nil {
			return err
		}
		if len(changed) == 0 {
			return nil
		}
		// An entity deleted while it was being processed has nowhere to put its result; writing
		// its relations would leave edges that no entity owns.
		changed, err := s.stillPresent(ctx, tx, changed)
		if err != nil {
			return err
		}
		stitch := map[string]bool{}
		// A failed run changes only the errors: the last good entity keeps its relations, refresh
		// keys and children, as in Backstage.
		var succeeded []*processing.Result
		for _, r := range changed {
			stitch[r.Claim.EntityRef] = true
			if r.Processed != nil {
				succeeded = append(succeeded, r)
			}
		}
		// Relations this commit inserts get ids above the current maximum; stitching takes them from memory.
		var relationsBefore int
		if s.dialect == dialect.SQLite {
			last, err := tx.Relation.Query().Order(ent.Desc(relation.FieldID)).Limit(1).IDs(ctx)
			if err != nil {
				return dbErr(err, "read relations")
			}
			if len(last) > 0 {
				relationsBefore = last[0]
			}
		}
		ids := make([]string, len(succeeded))
		for i, r := range succeeded {
			ids[i] = r.Claim.ID
		}
		var mem *committed
		err = s.upsertChildren(ctx, tx, succeeded, stitch, func() error {
			if s.dialect != dialect.SQLite {
				return nil // stitching happens later, from the database
			}
			mem = inMemory(changed, relationsBefore)
			return s.prebuild(ctx, tx, mem, changed, ids)
		})
		if err != nil {
			return err
		}
		// Entities that relations pointed at before this run must be re-stitched too.
		for _, idChunk := range chunks(ids) {
			var old []string
			if err := tx.Relation.Query().Where(relation.OriginatingEntityIDIn(idChunk...)).Select(relation.FieldSourceEntityRef).Scan(ctx, &old); err != nil {
				return dbErr(err, "read old relations")
			}
			for _, ref := range old {
				stitch[ref] = true
			}
			if _, err := tx.Relation.Delete().Where(relation.OriginatingEntityIDIn(idChunk...)).Exec(ctx); err != nil {
				return dbErr(err, "delete old relations")
			}
			if _, err := tx.RefreshKey.Delete().Where(refreshkey.EntityIDIn(idChunk...)).Exec(ctx); err != nil {
				return dbErr(err, "delete old refresh keys")
			}
		}
		var relRows, keyRows, stateRows [][]any
		for _, r := range changed {
			for _, e := range r.Edges {
				src := e.Source.String()
				relRows = append(relRows, []any{r.Claim.ID, src, e.Type, e.Target.String()})
				stitch[src] = true
			}
			for _, k := range dedupe(r.RefreshKeys) {
				keyRows = append(keyRows, []any{r.Claim.ID, k})
			}
			errJSON, err := json.Marshal(nonNil(r.Errors))
			if err != nil {
				return errs.Wrap(errs.Internal, err, "encode errors")
			}
			var processed any // NULL keeps the last good version
			if r.Processed != nil {
				b, err := processedJSON(r)
				if err != nil {
					return err
				}
				processed = string(b)
			}
			stateRows = append(stateRows, []any{r.Claim.ID, processed, string(errJSON), r.Hash})
			if r.Processed == nil {
				// A child that never processed shows its errors on its parent location.
				parents, err := parentRefs(ctx, tx, []string{r.Claim.EntityRef})
				if err != nil {
					return err
				}
				for _, p := range parents {
					stitch[p] = true
				}
			}
		}
		if err := s.updateResults(ctx, tx, stateRows); err != nil {
			return dbErr(err, "write processed entities")
		}
		if err := s.insertRows(ctx, tx, relation.Table, []string{relation.FieldOriginatingEntityID,
			relation.FieldSourceEntityRef, relation.FieldType, relation.FieldTargetEntityRef}, relRows); err != nil {
			return dbErr(err, "write relations")
		}
		if err := s.insertRows(ctx, tx, refreshkey.Table, []string{refreshkey.FieldEntityID, refreshkey.FieldKey}, keyRows); err != nil {
			return dbErr(err, "write refresh keys")
		}
		if s.dialect == dialect.SQLite {
			// SQLite has one writer and one replica, so nothing is gained by deferring: stitching here, from
			// the processed entities still in memory, saves reading and decoding them back and a transaction
			// per stitch batch, which was a third of a large ingest.
			var err error
			stitched, err = s.stitchWith(ctx, tx, keys(stitch), mem)
			return err
		}
		return s.enqueueStitch(ctx, tx, keys(stitch))
	})
	if err != nil {
		stitched = nil
	}
	return err
}

// CommitFollower is told of every commit of the processing loop that stitches in its own transaction (on
// SQLite): before it starts, and once it has ended, with the final entities it committed.
type CommitFollower interface {
	CommitStarting()
	CommitDone(changes []service.Change)
}

// FollowCommits hands f the final entities each processing commit stitched, so that the index of this replica
// need not read back what it has just written; the change feed stays the source of truth for everything else.
func (s *Store) FollowCommits(f CommitFollower) { s.follower.Store(&f) }

// committed is what a commit wrote that stitching it takes from memory instead of reading it back.
type committed struct {
	// results are the successful results the commit stored (eagerly processed children included), by ref;
	// one that failed keeps its last processed entity, which only the database has.
	results map[string]*processing.Result
	// relations are the relations the commit inserted, by source ref; relation rows with ids up to
	// relationsBefore are the ones it did not insert.
	relations       map[string][]catalog.Relation
	relationsBefore int
	// prebuilt are the final entities of the children the commit creates, assembled while it writes;
	// ready closes when they are.
	prebuilt map[string]builtFinal
	ready    chan struct{}
}

// prebuild starts assembling the final entities of the children the commit creates (all of them, for a
// location read for the first time), to run beside the transaction's writes rather than after them. Everything
// their stitch needs is in memory but for relations other entities hold to them, read here before any
// relation is deleted or written: those that the commit's succeeded results (ids) emitted are being replaced.
func (s *Store) prebuild(ctx context.Context, tx *ent.Tx, mem *committed, changed []*processing.Result, ids []string) error {
	var created []*processing.Result
	for _, r := range changed {
		for i := range r.Children {
			c := &r.Children[i]
			// A new child is referenced by its parent, so never an orphan; one that is a location would
			// show its own children's errors, which the database has.
			if c.Stored && c.Result != nil && c.Result.Processed != nil && !strings.HasPrefix(c.Result.Claim.EntityRef, "location:") {
				created = append(created, c.Result)
			}
		}
	}
	replaced := make(map[string]bool, len(ids))
	for _, id := range ids {
		replaced[id] = true
	}
	others := map[string][]catalog.Relation{}
	for _, chunk := range chunks(created) {
		refs := make([]string, len(chunk))
		for i, r := range chunk {
			refs[i] = r.Claim.EntityRef
		}
		var rels []struct {
			Origin string `sql:"originating_entity_id"`
			Source string `sql:"source_entity_ref"`
			Type   string `sql:"type"`
			Target string `sql:"target_entity_ref"`
		}
		if err := tx.Relation.Query().Where(relation.SourceEntityRefIn(refs...)).Select(relation.FieldOriginatingEntityID,
			relation.FieldSourceEntityRef, relation.FieldType, relation.FieldTargetEntityRef).Scan(ctx, &rels); err != nil {
			return dbErr(err, "read relations")
		}
		for _, r := range rels {
			if !replaced[r.Origin] {
				others[r.Source] = append(others[r.Source], catalog.Relation{Type: r.Type, TargetRef: r.Target})
			}
		}
	}
	mem.prebuilt, mem.ready = make(map[string]builtFinal, len(created)), make(chan struct{})
	// One goroutine: the writes keep the other core busy.
	go func() {
		defer close(mem.ready)
		for _, r := range created {
			ref := r.Claim.EntityRef
			rels := append(others[ref], mem.relations[ref]...)
			mem.prebuilt[ref] = s.buildFinal(ref, r.Claim.ID, r.Processed, rels, slices.Clone(r.Errors), false)
		}
	}()
	return nil
}

// prebuiltFinal waits for the prebuilt final entities and returns that of ref, if there is one.
func (m *committed) prebuiltFinal(ref string) (builtFinal, bool) {
	if m == nil || m.ready == nil {
		return builtFinal{}, false
	}
	<-m.ready
	b, ok := m.prebuilt[ref]
	return b, ok
}

// result returns the successful result for ref the commit stored, if any; m may be nil.
func (m *committed) result(ref string) (*processing.Result, bool) {
	if m == nil {
		return nil, false
	}
	r, ok := m.results[ref]
	return r, ok
}

// inMemory collects what a commit of results writes: their processed entities and relations and those of
// the children stored with them.
func inMemory(results []*processing.Result, relationsBefore int) *committed {
	mem := &committed{results: make(map[string]*processing.Result, len(results)), relations: map[string][]catalog.Relation{},
		relationsBefore: relationsBefore}
	add := func(r *processing.Result) {
		if r.Processed != nil {
			mem.results[r.Claim.EntityRef] = r
		}
		for _, e := range r.Edges {
			src := e.Source.String()
			mem.relations[src] = append(mem.relations[src], catalog.Relation{Type: e.Type, TargetRef: e.Target.String()})
		}
	}
	for _, r := range results {
		add(r)
		for i := range r.Children {
			if c := &r.Children[i]; c.Stored && c.Result != nil {
				add(c.Result)
			}
		}
	}
	return mem
}

// Retry implements processing.Store.
func (s *Store) Retry(ctx context.Context, ids []string, after time.Duration) error {
	for _, c := range chunks(ids) {
		err := s.client.RefreshState.Update().Where(refreshstate.IDIn(c...)).
			SetNextUpdateAt(s.now().Add(after)).ClearClaimedUntil().Exec(ctx)
		if err != nil {
			return dbErr(err, "reschedule entities")
		}
	}
	return nil
}

// releaseClaims ends the leases of processed entities, changed or not, so that a refresh requested
// while they were processed can take them.
func releaseClaims(ctx context.Context, tx *ent.Tx, results []processing.Result) error {
	ids := make([]string, 0, len(results))
	for _, r := range results {
		if r.Claim.ID != "" {
			ids = append(ids, r.Claim.ID)
		}
	}
	for _, c := range chunks(ids) {
		if err := tx.RefreshState.Update().Where(refreshstate.IDIn(c...)).ClearClaimedUntil().Exec(ctx); err != nil {
			return dbErr(err, "release claims")
		}
	}
	return nil
}

// stillPresent keeps the results whose entities still exist, locking their rows on PostgreSQL so
// that a concurrent delete waits for this commit instead of racing it.
func (s *Store) stillPresent(ctx context.Context, tx *ent.Tx, results []*processing.Result) ([]*processing.Result, error) {
	ids := make([]string, len(results))
	for i, r := range results {
		ids[i] = r.Claim.ID
	}
	present := map[string]bool{}
	for _, c := range chunks(ids) {
		q := tx.RefreshState.Query().Where(refreshstate.IDIn(c...)).Order(refreshstate.ByID())
		if s.dialect == dialect.Postgres {
			q = q.ForUpdate()
		}
		found, err := q.IDs(ctx)
		if err != nil {
			return nil, dbErr(err, "read claimed entities")
		}
		for _, id := range found {
			present[id] = true
		}
	}
	out := results[:0:0]
	for _, r := range results {
		if present[r.Claim.ID] {
			out = append(out, r)
		}
	}
	return out, nil
}

// upsertChildren writes the children each result emitted and replaces the parents' references.
// beforeWrites runs once it is known which children are created, before anything is written.
func (s *Store) upsertChildren(ctx context.Context, tx *ent.Tx, changed []*processing.Result, stitch map[string]bool, beforeWrites func() error) error {
	parentRefs := make([]string, 0, len(changed))
	for _, r := range changed {
		parentRefs = append(parentRefs, r.Claim.EntityRef)
	}
	// Children the parents emitted before: those no longer emitted may become orphans.
	oldChildren := map[string]bool{}
	var oldEdges []struct {
		Source string `sql:"source_entity_ref"`
		Target string `sql:"target_entity_ref"`
	}
	for _, c := range chunks(parentRefs) {
		var edges []struct {
			Source string `sql:"source_entity_ref"`
			Target string `sql:"target_entity_ref"`
		}
		if err := tx.RefreshStateReference.Query().Where(refreshstatereference.SourceEntityRefIn(c...)).
			Select(refreshstatereference.FieldSourceEntityRef, refreshstatereference.FieldTargetEntityRef).Scan(ctx, &edges); err != nil {
			return dbErr(err, "read references")
		}
		for _, e := range edges {
			oldChildren[e.Target] = true
		}
		oldEdges = append(oldEdges, edges...)
		if _, err := tx.RefreshStateReference.Delete().Where(refreshstatereference.SourceEntityRefIn(c...)).Exec(ctx); err != nil {
			return dbErr(err, "delete references")
		}
	}
	kept, err := keptChildren(ctx, tx, changed, oldEdges)
	if err != nil {
		return err
	}
	previous := map[[2]string]bool{}
	for _, e := range oldEdges {
		previous[[2]string{e.Source, e.Target}] = true
	}

	type pending struct {
		parent *processing.Result
		child  *processing.Child
		ref    string
		json   string
		hash   string
		eager  eagerJSON
	}
	var all []pending
	var childRefs []string
	seen := map[string]string{} // ref → location key of its first emitter in this batch
	for _, r := range changed {
		for i := range r.Children {
			c := &r.Children[i]
			ref := c.Entity.Ref().String()
			if key, dup := seen[ref]; dup {
				if key != c.LocationKey {
					r.Errors = append(r.Errors, conflictItem(ref, key, c.LocationKey))
				}
				continue
			}
			seen[ref] = c.LocationKey
			all = append(all, pending{parent: r, child: c, ref: ref})
			childRefs = append(childRefs, ref)
		}
	}
	// Encoding thousands of children is most of a big location's commit; do it on every core.
	if err := parallel(len(all), func(i int) error {
		p := &all[i]
		b := p.child.JSON
		if b == nil {
			var err error
			if b, err = json.Marshal(p.child.Entity); err != nil {
				return errs.Wrap(errs.Internal, err, "encode child entity")
			}
		}
		sum := sha1.Sum(b)
		p.json, p.hash = string(b), hex.EncodeToString(sum[:])
		if p.child.Result == nil {
			return nil
		}
		var err error
		p.eager, err = encodeResult(p.child.Result)
		return err
	}); err != nil {
		return err
	}
	existing := map[string]*ent.RefreshState{}
	for _, c := range chunks(childRefs) {
		rows, err := tx.RefreshState.Query().Where(refreshstate.EntityRefIn(c...)).
			Select(refreshstate.FieldID, refreshstate.FieldEntityRef, refreshstate.FieldLocationKey, refreshstate.FieldUnprocessedHash).All(ctx)
		if err != nil {
			return dbErr(err, "read children")
		}
		for _, row := range rows {
			existing[row.EntityRef] = row
		}
	}
	now := s.now()
	var creates [][]any
	var refRows [][]any
	emitted := map[[2]string]bool{}
	var eager eagerChildren
	for _, p := range all {
		row := existing[p.ref]
		switch {
		case row == nil && p.child.Result != nil:
			eager.add(newEntityUID(), p.ref, p.json, p.hash, p.child, p.eager, now, stitch)
		case row == nil:
			creates = append(creates, []any{newEntityUID(), p.ref, p.json, p.hash, "", "[]", p.child.LocationKey, now, now})
		case row.LocationKey != nil && *row.LocationKey != p.child.LocationKey:
			p.parent.Errors = append(p.parent.Errors, conflictItem(p.ref, *row.LocationKey, p.child.LocationKey))
			continue
		case row.UnprocessedHash != p.hash || row.LocationKey == nil:
			if err := tx.RefreshState.Update().Where(refreshstate.ID(row.ID)).SetUnprocessedEntity(p.json).SetUnprocessedHash(p.hash).
				SetLocationKey(p.child.LocationKey).SetNextUpdateAt(now).SetLastDiscoveryAt(now).Exec(ctx); err != nil {
				return dbErr(err, "update child %s", p.ref)
			}
		}
		delete(oldChildren, p.ref)
		if !previous[[2]string{p.parent.Claim.EntityRef, p.ref}] {
			// A new parent edge can end an orphanhood; the child's own run may not change anything.
			stitch[p.ref] = true
		}
		refRows = append(refRows, []any{p.parent.Claim.EntityRef, p.ref})
		emitted[[2]string{p.parent.Claim.EntityRef, p.ref}] = true
	}
	if err := beforeWrites(); err != nil {
		return err
	}
	if err := s.insertRows(ctx, tx, refreshstate.Table, []string{refreshstate.FieldID, refreshstate.FieldEntityRef,
		refreshstate.FieldUnprocessedEntity, refreshstate.FieldUnprocessedHash, refreshstate.FieldResultHash,
		refreshstate.FieldErrors, refreshstate.FieldLocationKey, refreshstate.FieldNextUpdateAt,
		refreshstate.FieldLastDiscoveryAt}, creates); err != nil {
		return dbErr(err, "insert children")
	}
	if err := s.insertEager(ctx, tx, eager); err != nil {
		return err
	}
	for _, k := range kept {
		if !emitted[k] {
			refRows = append(refRows, []any{k[0], k[1]})
		}
		delete(oldChildren, k[1])
	}
	if err := s.insertRows(ctx, tx, refreshstatereference.Table, []string{refreshstatereference.FieldSourceEntityRef,
		refreshstatereference.FieldTargetEntityRef}, refRows); err != nil {
		return dbErr(err, "insert references")
	}
	// Children no longer emitted lose a parent; re-stitching marks them orphans if none is left.
	for ref := range oldChildren {
		stitch[ref] = true
	}
	return nil
}

// updateResults writes processing results ({id, processed entity or nil, errors, result hash})
// with one UPDATE ... FROM (VALUES ...) per chunk rather than one statement per entity. Both
// SQLite and PostgreSQL name the VALUES columns column1..columnN.
func (s *Store) updateResults(ctx context.Context, tx *ent.Tx, rows [][]any) error {
	const per = 2000
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		var b strings.Builder
		args := make([]any, 0, len(chunk)*4)
		b.WriteString("UPDATE " + refreshstate.Table + " SET " +
			refreshstate.FieldProcessedEntity + " = COALESCE(v.column2, " + refreshstate.Table + "." + refreshstate.FieldProcessedEntity + "), " +
			refreshstate.FieldErrors + " = v.column3, " + refreshstate.FieldResultHash + " = v.column4 FROM (VALUES ")
		for i, row := range chunk {
			if i > 0 {
				b.WriteByte(',')
			}
			n := len(args)
			if s.dialect == dialect.Postgres {
				fmt.Fprintf(&b, "($%d, $%d::text, $%d, $%d)", n+1, n+2, n+3, n+4)
			} else {
				b.WriteString("(?, ?, ?, ?)")
			}
			args = append(args, row...)
		}
		b.WriteString(") AS v WHERE " + refreshstate.Table + "." + refreshstate.FieldID + " = v.column1")
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// insertRows writes rows with multi-row INSERTs. ent's bulk create reads back the generated id of
// every row, which nothing here needs and which cost a fifth of ingest.
func (s *Store) insertRows(ctx context.Context, tx *ent.Tx, table string, columns []string, rows [][]any) error {
	return s.insertRowsWith(ctx, tx, table, columns, rows)
}

// insertRowsWith is insertRows with an ON CONFLICT clause.
func (s *Store) insertRowsWith(ctx context.Context, tx *ent.Tx, table string, columns []string, rows [][]any, conflict ...entsql.ConflictOption) error {
	// Stay well under SQLite's 32,766 bound parameters per statement.
	per := max(1, 30000/len(columns))
	for start := 0; start < len(rows); start += per {
		ins := entsql.Dialect(s.dialect).Insert(table).Columns(columns...)
		if len(conflict) > 0 {
			ins.OnConflict(conflict...)
		}
		for _, row := range rows[start:min(start+per, len(rows))] {
			ins.Values(row...)
		}
		query, args := ins.Query()
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return err
		}
	}
	return nil
}

// eagerChildren are new children written with the result the engine computed in the same pass.
type eagerChildren struct {
	states, relations, keys [][]any
}

func (e *eagerChildren) add(id, ref, unprocessed, unprocessedHash string, c *processing.Child, enc eagerJSON, now time.Time, stitch map[string]bool) {
	r := c.Result
	e.states = append(e.states, []any{id, ref, unprocessed, unprocessedHash, enc.processed, r.Hash, enc.errors,
		c.LocationKey, c.NextUpdateAt.UTC(), now})
	for _, edge := range r.Edges {
		src := edge.Source.String()
		e.relations = append(e.relations, []any{id, src, edge.Type, edge.Target.String()})
		stitch[src] = true
	}
	for _, k := range dedupe(r.RefreshKeys) {
		e.keys = append(e.keys, []any{id, k})
	}
	stitch[ref] = true
	c.Stored = true
	r.Claim.ID = id
}

// eagerJSON is a processing result encoded for storage: the processed entity (nil when processing
// failed, which keeps the column NULL) and the errors.
type eagerJSON struct {
	processed any
	errors    string
}

func encodeResult(r *processing.Result) (eagerJSON, error) {
	errJSON, err := json.Marshal(nonNil(r.Errors))
	if err != nil {
		return eagerJSON{}, errs.Wrap(errs.Internal, err, "encode errors")
	}
	out := eagerJSON{errors: string(errJSON)}
	if r.Processed != nil {
		b, err := processedJSON(r)
		if err != nil {
			return eagerJSON{}, err
		}
		out.processed = string(b)
	}
	return out, nil
}

// processedJSON is the processed entity as the processor encoded it, or encoded now.
func processedJSON(r *processing.Result) ([]byte, error) {
	if r.ProcessedJSON != nil {
		return r.ProcessedJSON, nil
	}
	b, err := json.Marshal(r.Processed)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "encode processed entity")
	}
	return b, nil
}

// parallel runs fn for 0..n-1 on every core and returns the first error.
func parallel(n int, fn func(i int) error) error {
	errsOut := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(n, 1)) {
		wg.Go(func() {
			for i := range next {
				errsOut[i] = fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errsOut {
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) insertEager(ctx context.Context, tx *ent.Tx, e eagerChildren) error {
	if err := s.insertRows(ctx, tx, refreshstate.Table, []string{refreshstate.FieldID, refreshstate.FieldEntityRef,
		refreshstate.FieldUnprocessedEntity, refreshstate.FieldUnprocessedHash, refreshstate.FieldProcessedEntity,
		refreshstate.FieldResultHash, refreshstate.FieldErrors, refreshstate.FieldLocationKey,
		refreshstate.FieldNextUpdateAt, refreshstate.FieldLastDiscoveryAt}, e.states); err != nil {
		return dbErr(err, "insert processed children")
	}
	if err := s.insertRows(ctx, tx, relation.Table, []string{relation.FieldOriginatingEntityID,
		relation.FieldSourceEntityRef, relation.FieldType, relation.FieldTargetEntityRef}, e.relations); err != nil {
		return dbErr(err, "write relations")
	}
	return dbErr(s.insertRows(ctx, tx, refreshkey.Table, []string{refreshkey.FieldEntityID, refreshkey.FieldKey}, e.keys), "write refresh keys")
}

// keptChildren returns the parent→child edges to keep although the parent did not emit the
// child this time: the child came from a target the parent could not read. A file that is
// briefly unreachable must not orphan what it holds.
func keptChildren(ctx context.Context, tx *ent.Tx, results []*processing.Result, oldEdges []struct {
	Source string `sql:"source_entity_ref"`
	Target string `sql:"target_entity_ref"`
}) ([][2]string, error) {
	unread := map[string]map[string]bool{}
	for _, r := range results {
		for _, key := range r.Unread {
			if unread[r.Claim.EntityRef] == nil {
				unread[r.Claim.EntityRef] = map[string]bool{}
			}
			unread[r.Claim.EntityRef][key] = true
		}
	}
	if len(unread) == 0 {
		return nil, nil
	}
	var candidates []string
	for _, e := range oldEdges {
		if unread[e.Source] != nil {
			candidates = append(candidates, e.Target)
		}
	}
	keyOf := map[string]string{}
	for _, c := range chunks(candidates) {
		rows, err := tx.RefreshState.Query().Where(refreshstate.EntityRefIn(c...)).
			Select(refreshstate.FieldEntityRef, refreshstate.FieldLocationKey).All(ctx)
		if err != nil {
			return nil, dbErr(err, "read children")
		}
		for _, row := range rows {
			if row.LocationKey != nil {
				keyOf[row.EntityRef] = *row.LocationKey
			}
		}
	}
	var out [][2]string
	for _, e := range oldEdges {
		if unread[e.Source][keyOf[e.Target]] {
			out = append(out, [2]string{e.Source, e.Target})
		}
	}
	return out, nil
}

func conflictItem(ref, existingKey, newKey string) catalog.StatusItem {
	return catalog.ErrorItem("ConflictError", fmt.Sprintf("Detected conflicting entityRef %s already referenced by %s and now also %s", ref, existingKey, newKey))
}

func parentRefs(ctx context.Context, tx *ent.Tx, refs []string) ([]string, error) {
	var out []string
	for _, c := range chunks(refs) {
		var parents []string
		err := tx.RefreshStateReference.Query().
			Where(refreshstatereference.TargetEntityRefIn(c...), refreshstatereference.SourceEntityRefNotNil()).
			Select(refreshstatereference.FieldSourceEntityRef).Scan(ctx, &parents)
		if err != nil {
			return nil, dbErr(err, "read parents")
		}
		out = append(out, parents...)
	}
	return out, nil
}

func nonNil(items []catalog.StatusItem) []catalog.StatusItem {
	if items == nil {
		return []catalog.StatusItem{}
	}
	return items
}

func dedupe(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// nextVersion takes the catalog version row lock for the rest of tx and returns the new version.
func nextVersion(ctx context.Context, tx *ent.Tx) (int64, error) {
	v, err := tx.CatalogVersion.UpdateOneID(1).AddVersion(1).Save(ctx)
	if err != nil {
		return 0, dbErr(err, "bump catalog version")
	}
	return v.Version, nil
}

// stitch rebuilds the final entities of refs in tx: the processed entity, every relation whose
// source it is, its errors (and, for a location, the errors of children that never processed), the
// orphan mark, uid and etag. Unchanged entities are not written; deleted ones leave a tombstone.
func (s *Store) stitch(ctx context.Context, tx *ent.Tx, refs []string) error {
	_, err := s.stitchWith(ctx, tx, refs, nil)
	return err
}

// stitchWith is stitch with what the transaction wrote so far still in memory (mem, nil for nothing), which
// is then neither read back nor decoded. It returns the final entities it wrote and the tombstones it left.
func (s *Store) stitchWith(ctx context.Context, tx *ent.Tx, refs []string, mem *committed) ([]service.Change, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	var changes []service.Change
	version := int64(0)
	for _, c := range chunks(refs) {
		// Rows this commit wrote are known; reading even their short columns back means stepping over the
		// entity JSON stored before them.
		var fromDB []string
		byRef := make(map[string]*ent.RefreshState, len(c))
		for _, ref := range c {
			if r, ok := mem.result(ref); ok {
				byRef[ref] = &ent.RefreshState{ID: r.Claim.ID, EntityRef: ref, ProcessedEntity: new(string)}
			} else {
				fromDB = append(fromDB, ref)
			}
		}
		if len(fromDB) > 0 {
			states, err := tx.RefreshState.Query().Where(refreshstate.EntityRefIn(fromDB...)).
				Select(refreshstate.FieldID, refreshstate.FieldEntityRef, refreshstate.FieldErrors, refreshstate.FieldProcessedEntity).All(ctx)
			if err != nil {
				return nil, dbErr(err, "read entities to stitch")
			}
			for _, st := range states {
				byRef[st.EntityRef] = st
			}
		}
		var rels []struct {
			Source string `sql:"source_entity_ref"`
			Type   string `sql:"type"`
			Target string `sql:"target_entity_ref"`
		}
		// Entities assembled while the commit wrote need nothing more read; the others are assembled here.
		var rest []string
		for _, ref := range c {
			if mem == nil || mem.prebuilt == nil {
				rest = append(rest, ref)
			} else if _, ok := mem.prebuiltFinal(ref); !ok {
				rest = append(rest, ref)
			}
		}
		relQuery := tx.Relation.Query().Where(relation.SourceEntityRefIn(rest...))
		if mem != nil {
			relQuery = relQuery.Where(relation.IDLTE(mem.relationsBefore))
		}
		if len(rest) > 0 {
			if err := relQuery.Select(relation.FieldSourceEntityRef, relation.FieldType, relation.FieldTargetEntityRef).Scan(ctx, &rels); err != nil {
				return nil, dbErr(err, "read relations")
			}
		}
		relsBy := map[string][]catalog.Relation{}
		for _, r := range rels {
			relsBy[r.Source] = append(relsBy[r.Source], catalog.Relation{Type: r.Type, TargetRef: r.Target})
		}
		if mem != nil {
			for _, ref := range rest {
				relsBy[ref] = append(relsBy[ref], mem.relations[ref]...)
			}
		}
		var referenced []string
		if len(rest) > 0 {
			if err := tx.RefreshStateReference.Query().Where(refreshstatereference.TargetEntityRefIn(rest...)).
				Select(refreshstatereference.FieldTargetEntityRef).Scan(ctx, &referenced); err != nil {
				return nil, dbErr(err, "read references")
			}
		}
		hasParent := map[string]bool{}
		for _, r := range referenced {
			hasParent[r] = true
		}
		childErrs, err := s.childErrors(ctx, tx, rest, mem)
		if err != nil {
			return nil, err
		}
		finals, err := tx.FinalEntity.Query().Where(finalentity.EntityRefIn(c...)).
			Select(finalentity.FieldID, finalentity.FieldEntityRef, finalentity.FieldHash, finalentity.FieldFinalEntity).All(ctx)
		if err != nil {
			return nil, dbErr(err, "read final entities")
		}
		finalBy := map[string]*ent.FinalEntity{}
		for _, f := range finals {
			if f.FinalEntity != nil || finalBy[f.EntityRef] == nil {
				finalBy[f.EntityRef] = f
			}
		}
		builtRest := s.buildFinals(rest, byRef, mem, relsBy, hasParent, childErrs)
		built := make(map[string]builtFinal, len(c))
		for i, ref := range rest {
			built[ref] = builtRest[i]
		}
		var writes [][]any
		for _, ref := range c {
			st, old := byRef[ref], finalBy[ref]
			if st == nil || st.ProcessedEntity == nil {
				// Gone, or re-created under a new uid that has not processed yet: the old final
				// entity must not outlive its row.
				if old != nil && old.FinalEntity != nil && (st == nil || st.ID != old.ID) {
					if version == 0 {
						if version, err = nextVersion(ctx, tx); err != nil {
							return nil, err
						}
					}
					if err := tx.FinalEntity.UpdateOneID(old.ID).ClearFinalEntity().SetHash("").SetVersion(version).Exec(ctx); err != nil {
						return nil, dbErr(err, "tombstone %s", ref)
					}
					changes = append(changes, service.Change{UID: old.ID, Version: version})
				}
				continue
			}
			b, ok := built[ref]
			if !ok {
				b, _ = mem.prebuiltFinal(ref)
			}
			if b.err != nil {
				return nil, b.err
			}
			if old != nil && old.ID == st.ID && old.Hash == b.hash {
				continue
			}
			if version == 0 {
				if version, err = nextVersion(ctx, tx); err != nil {
					return nil, err
				}
			}
			if old != nil && old.ID != st.ID && old.FinalEntity != nil {
				// The ref was re-created under a new uid: tombstone the old one.
				if err := tx.FinalEntity.UpdateOneID(old.ID).ClearFinalEntity().SetHash("").SetVersion(version).Exec(ctx); err != nil {
					return nil, dbErr(err, "tombstone %s", ref)
				}
				changes = append(changes, service.Change{UID: old.ID, Version: version})
			}
			writes = append(writes, []any{st.ID, ref, b.hash, string(b.raw), version, s.now()})
			changes = append(changes, service.Change{UID: st.ID, Raw: b.raw, Version: version})
		}
		err = s.insertRowsWith(ctx, tx, finalentity.Table, []string{finalentity.FieldID, finalentity.FieldEntityRef,
			finalentity.FieldHash, finalentity.FieldFinalEntity, finalentity.FieldVersion, finalentity.FieldUpdatedAt},
			writes, entsql.ConflictColumns(finalentity.FieldID), entsql.ResolveWithNewValues())
		if err != nil {
			return nil, dbErr(err, "write final entities")
		}
	}
	return changes, nil
}

type builtFinal struct {
	raw  []byte
	hash string
	err  error
}

// buildFinals assembles the final entities of refs on every core: decoding and encoding JSON is
// most of a stitch, and the database is not involved.
func (s *Store) buildFinals(refs []string, states map[string]*ent.RefreshState, mem *committed,
	rels map[string][]catalog.Relation, hasParent map[string]bool, childErrs map[string][]catalog.StatusItem) []builtFinal {
	out := make([]builtFinal, len(refs))
	_ = parallel(len(refs), func(i int) error {
		ref := refs[i]
		st := states[ref]
		if st == nil || st.ProcessedEntity == nil {
			return nil
		}
		var processed catalog.Entity
		var items []catalog.StatusItem
		if r, ok := mem.result(ref); ok {
			processed, items = r.Processed, slices.Clone(r.Errors)
		} else {
			if err := json.Unmarshal([]byte(*st.ProcessedEntity), &processed); err != nil {
				out[i].err = errs.Wrap(errs.Internal, err, "stored entity %s is corrupt", ref)
				return nil
			}
			if err := json.Unmarshal([]byte(st.Errors), &items); err != nil {
				out[i].err = errs.Wrap(errs.Internal, err, "stored errors of %s are corrupt", ref)
				return nil
			}
		}
		out[i] = s.buildFinal(ref, st.ID, processed, rels[ref], append(items, childErrs[ref]...), !hasParent[ref])
		return nil
	})
	return out
}

// buildFinal assembles one final entity.
func (s *Store) buildFinal(ref, uid string, processed catalog.Entity, rels []catalog.Relation, items []catalog.StatusItem, orphan bool) builtFinal {
	raw, hash, err := catalog.Stitch(catalog.StitchInput{
		UID: uid, Processed: processed, Relations: rels, Errors: items,
		Orphan: orphan, OmitLegacyTarget: s.OmitLegacyRelationTarget,
	})
	if err != nil {
		err = errs.Wrap(errs.Internal, err, "stitch %s", ref)
	}
	return builtFinal{raw: raw, hash: hash, err: err}
}

// enqueueStitch records that refs need stitching; StitchDue does it.
func (s *Store) enqueueStitch(ctx context.Context, tx *ent.Tx, refs []string) error {
	now := s.now()
	rows := make([][]any, len(refs))
	for i, ref := range refs {
		rows[i] = []any{ref, now}
	}
	// An entity already queued keeps its earlier time, so a busy entity is not starved. The no-op
	// update (rather than DO NOTHING) waits for a stitch that holds the row: once that stitch
	// deletes it, this insert goes through, so a change made meanwhile is stitched again.
	err := s.insertRowsWith(ctx, tx, stitchqueue.Table, []string{stitchqueue.FieldID, stitchqueue.FieldQueuedAt}, rows,
		entsql.ConflictColumns(stitchqueue.FieldID), entsql.ResolveWith(func(u *entsql.UpdateSet) {
			u.Set(stitchqueue.FieldQueuedAt, entsql.Expr(u.Table().C(stitchqueue.FieldQueuedAt)))
		}))
	return dbErr(err, "queue stitching")
}

// StitchDue stitches up to limit queued entities that have waited at least minAge, and returns how
// many it took. Replicas on PostgreSQL take disjoint sets.
func (s *Store) StitchDue(ctx context.Context, limit int, minAge time.Duration) (int, error) {
	n := 0
	err := s.withTx(ctx, func(tx *ent.Tx) error {
		q := tx.StitchQueue.Query().Where(stitchqueue.QueuedAtLTE(s.now().Add(-minAge))).
			Order(stitchqueue.ByQueuedAt()).Limit(limit)
		if s.dialect == dialect.Postgres {
			q = q.ForUpdate(entsql.WithLockAction(entsql.SkipLocked))
		}
		refs, err := q.IDs(ctx)
		if err != nil || len(refs) == 0 {
			return dbErr(err, "read stitch queue")
		}
		n = len(refs)
		if err := s.stitch(ctx, tx, refs); err != nil {
			return err
		}
		_, err = tx.StitchQueue.Delete().Where(stitchqueue.IDIn(refs...)).Exec(ctx)
		return dbErr(err, "clear stitch queue")
	})
	return n, err
}

// childErrors collects, for each location in refs, the errors of emitted children that have never
// processed successfully, so the reason an entity is missing shows on the location it came from.
func (s *Store) childErrors(ctx context.Context, tx *ent.Tx, refs []string, mem *committed) (map[string][]catalog.StatusItem, error) {
	var locs []string
	for _, r := range refs {
		if strings.HasPrefix(r, "location:") {
			locs = append(locs, r)
		}
	}
	if len(locs) == 0 {
		return nil, nil
	}
	edges, err := tx.RefreshStateReference.Query().Where(refreshstatereference.SourceEntityRefIn(locs...)).All(ctx)
	if err != nil {
		return nil, dbErr(err, "read children")
	}
	parentOf := map[string][]string{}
	var children []string
	for _, e := range edges {
		parentOf[e.TargetEntityRef] = append(parentOf[e.TargetEntityRef], *e.SourceEntityRef)
		if _, ok := mem.result(e.TargetEntityRef); !ok { // those the commit processed have no errors to show here
			children = append(children, e.TargetEntityRef)
		}
	}
	out := map[string][]catalog.StatusItem{}
	for _, c := range chunks(children) {
		failed, err := tx.RefreshState.Query().Where(refreshstate.EntityRefIn(c...), refreshstate.ProcessedEntityIsNil(), refreshstate.ErrorsNEQ("[]")).
			Select(refreshstate.FieldEntityRef, refreshstate.FieldErrors).All(ctx)
		if err != nil {
			return nil, dbErr(err, "read child errors")
		}
		for _, f := range failed {
			var items []catalog.StatusItem
			if json.Unmarshal([]byte(f.Errors), &items) != nil {
				continue
			}
			for _, it := range items {
				it.Message = f.EntityRef + ": " + it.Message
				for _, p := range parentOf[f.EntityRef] {
					out[p] = append(out[p], it)
				}
			}
		}
	}
	return out, nil
}

// ReplaceProvider implements processing.Store.
func (s *Store) ReplaceProvider(ctx context.Context, provider string, entities []catalog.Entity) error {
	return s.withTx(ctx, func(tx *ent.Tx) error {
		if err := s.lockProvider(ctx, tx, provider); err != nil {
			return err
		}
		return s.replaceProvider(ctx, tx, provider, entities)
	})
}

// SyncRegisteredLocations implements service.Store.
func (s *Store) SyncRegisteredLocations(ctx context.Context, provider, origin string) error {
	return s.withTx(ctx, func(tx *ent.Tx) error {
		// The lock comes before the read, so the last writer always writes the newest list.
		if err := s.lockProvider(ctx, tx, provider); err != nil {
			return err
		}
		rows, err := tx.Location.Query().Where(location.Origin(origin)).Order(location.ByCreatedAt(), location.ByID()).All(ctx)
		if err != nil {
			return dbErr(err, "list locations")
		}
		entities := make([]catalog.Entity, len(rows))
		for i, l := range rows {
			spec := processing.LocationSpec{Type: l.Type, Target: l.Target}
			if l.Presence == "optional" {
				spec.Presence = l.Presence
			}
			entities[i] = processing.GeneratedLocation(spec)
		}
		return s.replaceProvider(ctx, tx, provider, entities)
	})
}

// lockProvider serialises rewrites of one provider across replicas, so that its references are
// never written twice or from a stale list.
func (s *Store) lockProvider(ctx context.Context, tx *ent.Tx, provider string) error {
	if s.dialect != dialect.Postgres {
		return nil // SQLite transactions are serial already
	}
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", "portal-provider:"+provider)
	return dbErr(err, "lock provider %s", provider)
}

func (s *Store) replaceProvider(ctx context.Context, tx *ent.Tx, provider string, entities []catalog.Entity) error {
	var before []string
	if err := tx.RefreshStateReference.Query().Where(refreshstatereference.SourceKey(provider)).
		Select(refreshstatereference.FieldTargetEntityRef).Scan(ctx, &before); err != nil {
		return dbErr(err, "read provider %s", provider)
	}
	if _, err := tx.RefreshStateReference.Delete().Where(refreshstatereference.SourceKey(provider)).Exec(ctx); err != nil {
		return dbErr(err, "clear provider %s", provider)
	}
	keep := map[string]bool{}
	now := s.now()
	key := "provider:" + provider
	for _, e := range entities {
		ref := e.Ref().String()
		if keep[ref] {
			continue
		}
		keep[ref] = true
		b, err := json.Marshal(e)
		if err != nil {
			return errs.Wrap(errs.Internal, err, "encode entity")
		}
		sum := sha1.Sum(b)
		hash := hex.EncodeToString(sum[:])
		row, err := tx.RefreshState.Query().Where(refreshstate.EntityRef(ref)).Only(ctx)
		switch {
		case ent.IsNotFound(err):
			err = tx.RefreshState.Create().SetID(newEntityUID()).SetEntityRef(ref).SetUnprocessedEntity(string(b)).
				SetUnprocessedHash(hash).SetLocationKey(key).SetNextUpdateAt(now).
				OnConflictColumns(refreshstate.FieldEntityRef).DoNothing().Exec(ctx)
			if isNoRows(err) {
				err = nil
			}
		case err != nil:
		case row.UnprocessedHash != hash:
			err = tx.RefreshState.UpdateOneID(row.ID).SetUnprocessedEntity(string(b)).SetUnprocessedHash(hash).
				SetLocationKey(key).SetNextUpdateAt(now).Exec(ctx)
		}
		if err != nil {
			return dbErr(err, "write provider entity %s", ref)
		}
		if err := tx.RefreshStateReference.Create().SetSourceKey(provider).SetTargetEntityRef(ref).Exec(ctx); err != nil {
			return dbErr(err, "write provider reference")
		}
	}
	var gone []string
	for _, ref := range before {
		if !keep[ref] {
			gone = append(gone, ref)
		}
	}
	stitch := map[string]bool{}
	wasThere := map[string]bool{}
	for _, ref := range before {
		wasThere[ref] = true
	}
	for ref := range keep {
		if !wasThere[ref] {
			stitch[ref] = true // a new provider edge can end an orphanhood
		}
	}
	if err := s.deleteSubtrees(ctx, tx, gone, stitch); err != nil {
		return err
	}
	return s.enqueueStitch(ctx, tx, keys(stitch))
}

// deleteSubtrees deletes refs and, recursively, everything only they emitted. An entity that some
// other parent or provider still emits is kept.
func (s *Store) deleteSubtrees(ctx context.Context, tx *ent.Tx, refs []string, stitch map[string]bool) error {
	queue := slices.Clone(refs)
	for len(queue) > 0 {
		ref := queue[0]
		queue = queue[1:]
		n, err := tx.RefreshStateReference.Query().Where(refreshstatereference.TargetEntityRef(ref)).Count(ctx)
		if err != nil {
			return dbErr(err, "count references")
		}
		if n > 0 {
			continue
		}
		var children []string
		if err := tx.RefreshStateReference.Query().Where(refreshstatereference.SourceEntityRef(ref)).
			Select(refreshstatereference.FieldTargetEntityRef).Scan(ctx, &children); err != nil {
			return dbErr(err, "read children")
		}
		if _, err := tx.RefreshStateReference.Delete().Where(refreshstatereference.SourceEntityRef(ref)).Exec(ctx); err != nil {
			return dbErr(err, "delete references")
		}
		if err := s.deleteEntityRows(ctx, tx, ref, stitch); err != nil {
			return err
		}
		queue = append(queue, children...)
	}
	return nil
}

// deleteEntityRows removes one entity's rows and marks it and its relation peers for stitching
// (which tombstones it).
func (s *Store) deleteEntityRows(ctx context.Context, tx *ent.Tx, ref string, stitch map[string]bool) error {
	row, err := tx.RefreshState.Query().Where(refreshstate.EntityRef(ref)).Select(refreshstate.FieldID).Only(ctx)
	if ent.IsNotFound(err) {
		stitch[ref] = true
		return nil
	}
	if err != nil {
		return dbErr(err, "read %s", ref)
	}
	var peers []string
	if err := tx.Relation.Query().Where(relation.OriginatingEntityID(row.ID)).Select(relation.FieldSourceEntityRef).Scan(ctx, &peers); err != nil {
		return dbErr(err, "read relations")
	}
	for _, p := range peers {
		stitch[p] = true
	}
	stitch[ref] = true
	if _, err := tx.Relation.Delete().Where(relation.OriginatingEntityID(row.ID)).Exec(ctx); err != nil {
		return dbErr(err, "delete relations")
	}
	if _, err := tx.RefreshKey.Delete().Where(refreshkey.EntityID(row.ID)).Exec(ctx); err != nil {
		return dbErr(err, "delete refresh keys")
	}
	if err := tx.RefreshState.DeleteOneID(row.ID).Exec(ctx); err != nil {
		return dbErr(err, "delete %s", ref)
	}
	return nil
}

// DeleteEntityByUID deletes one entity; an unknown uid is not an error. Its parents are scheduled at once, so an entity that is
// still emitted comes back, as in Backstage.
func (s *Store) DeleteEntityByUID(ctx context.Context, uid string) error {
	return s.withTx(ctx, func(tx *ent.Tx) error {
		row, err := tx.RefreshState.Get(ctx, uid)
		if ent.IsNotFound(err) {
			// Deleting what is already gone succeeds, as in Backstage.
			return nil
		}
		if err != nil {
			return dbErr(err, "read entity")
		}
		stitch := map[string]bool{}
		parents, err := parentRefs(ctx, tx, []string{row.EntityRef})
		if err != nil {
			return err
		}
		if len(parents) > 0 {
			if err := tx.RefreshState.Update().Where(refreshstate.EntityRefIn(parents...)).
				SetResultHash(childWasDeleted).SetNextUpdateAt(s.now()).Exec(ctx); err != nil {
				return dbErr(err, "schedule parents")
			}
		}
		var children []string
		if err := tx.RefreshStateReference.Query().Where(refreshstatereference.SourceEntityRef(row.EntityRef)).
			Select(refreshstatereference.FieldTargetEntityRef).Scan(ctx, &children); err != nil {
			return dbErr(err, "read children")
		}
		if _, err := tx.RefreshStateReference.Delete().Where(refreshstatereference.SourceEntityRef(row.EntityRef)).Exec(ctx); err != nil {
			return dbErr(err, "delete references")
		}
		for _, c := range children {
			stitch[c] = true
		}
		if err := s.deleteEntityRows(ctx, tx, row.EntityRef, stitch); err != nil {
			return err
		}
		// The deleted entity disappears at once, as in Backstage; its peers follow with the queue.
		if err := s.stitch(ctx, tx, []string{row.EntityRef}); err != nil {
			return err
		}
		delete(stitch, row.EntityRef)
		return s.enqueueStitch(ctx, tx, keys(stitch))
	})
}

// ScheduleRefresh makes the entity and its ancestors up to the nearest location due now
// (Backstage's POST /refresh). It returns errs.NotFound for an unknown ref.
func (s *Store) ScheduleRefresh(ctx context.Context, ref string) error {
	return s.withTx(ctx, func(tx *ent.Tx) error {
		if n, err := tx.RefreshState.Query().Where(refreshstate.EntityRef(ref)).Count(ctx); err != nil {
			return dbErr(err, "read entity")
		} else if n == 0 {
			return errs.E(errs.NotFound, "No entity named %s found", ref)
		}
		// The entity's text comes from its parent's read, so the walk goes up at least one level and
		// on until it reaches a Location (the file that holds the entity).
		due := []string{ref}
		seen := map[string]bool{ref: true}
		frontier := []string{ref}
		for len(frontier) > 0 {
			parents, err := parentRefs(ctx, tx, frontier)
			if err != nil {
				return err
			}
			frontier = nil
			reachedLocation := false
			for _, p := range parents {
				if !seen[p] {
					seen[p] = true
					due = append(due, p)
					frontier = append(frontier, p)
					reachedLocation = reachedLocation || strings.HasPrefix(p, "location:")
				}
			}
			if reachedLocation {
				break
			}
		}
		return dbErr(tx.RefreshState.Update().Where(refreshstate.EntityRefIn(due...)).SetNextUpdateAt(s.now()).Exec(ctx), "schedule refresh")
	})
}

// ScheduleByRefreshKey makes every entity that read one of keys ("url:https://...") due now, and
// returns how many were scheduled. Webhooks use it to reflect a push within seconds.
func (s *Store) ScheduleByRefreshKey(ctx context.Context, refreshKeys []string) (int, error) {
	if len(refreshKeys) == 0 {
		return 0, nil
	}
	var ids []string
	if err := s.client.RefreshKey.Query().Where(refreshkey.KeyIn(refreshKeys...)).Select(refreshkey.FieldEntityID).Scan(ctx, &ids); err != nil {
		return 0, dbErr(err, "read refresh keys")
	}
	if len(ids) == 0 {
		return 0, nil
	}
	n, err := s.client.RefreshState.Update().Where(refreshstate.IDIn(dedupe(ids)...)).SetNextUpdateAt(s.now()).Save(ctx)
	return n, dbErr(err, "schedule refresh")
}

// ChangesSince returns final entities written after version, oldest first: about limit of them,
// but always whole versions, since a follower resumes after the last version it saw and would
// otherwise skip the rest of one cut by the limit.
func (s *Store) ChangesSince(ctx context.Context, version int64, limit int) ([]service.Change, error) {
	rows, err := s.client.FinalEntity.Query().Where(finalentity.VersionGT(version)).
		Order(finalentity.ByVersion(), finalentity.ByID()).Limit(limit).All(ctx)
	if err != nil {
		return nil, dbErr(err, "read catalog changes")
	}
	if len(rows) == limit {
		last := rows[len(rows)-1]
		rest, err := s.client.FinalEntity.Query().
			Where(finalentity.Version(last.Version), finalentity.IDGT(last.ID)).
			Order(finalentity.ByID()).All(ctx)
		if err != nil {
			return nil, dbErr(err, "read catalog changes")
		}
		rows = append(rows, rest...)
	}
	out := make([]service.Change, len(rows))
	for i, r := range rows {
		out[i] = service.Change{UID: r.ID, Version: r.Version}
		if r.FinalEntity != nil {
			out[i].Raw = []byte(*r.FinalEntity)
		}
	}
	return out, nil
}

// CatalogVersion returns the latest version and the oldest one a follower may resume from.
func (s *Store) CatalogVersion(ctx context.Context) (version, tombstonesBefore int64, err error) {
	v, err := s.client.CatalogVersion.Query().Where(catalogversion.ID(1)).Only(ctx)
	if err != nil {
		return 0, 0, dbErr(err, "read catalog version")
	}
	return v.Version, v.TombstonesBefore, nil
}

// PurgeTombstones forgets deletions older than age. Followers further behind than that reload.
func (s *Store) PurgeTombstones(ctx context.Context, age time.Duration) error {
	return s.withTx(ctx, func(tx *ent.Tx) error {
		cutoff := s.now().Add(-age)
		old, err := tx.FinalEntity.Query().Where(finalentity.FinalEntityIsNil(), finalentity.UpdatedAtLT(cutoff)).
			Aggregate(ent.Max(finalentity.FieldVersion)).Int(ctx)
		if err != nil || old == 0 {
			return nil //nolint:nilerr // nothing to purge
		}
		if _, err := tx.FinalEntity.Delete().Where(finalentity.FinalEntityIsNil(), finalentity.VersionLTE(int64(old))).Exec(ctx); err != nil {
			return dbErr(err, "purge tombstones")
		}
		return dbErr(tx.CatalogVersion.UpdateOneID(1).SetTombstonesBefore(int64(old)).Exec(ctx), "record purge")
	})
}

// EntityParents returns the refs that emitted ref (entities, not providers).
func (s *Store) EntityParents(ctx context.Context, ref string) ([]string, error) {
	var out []string
	err := s.client.RefreshStateReference.Query().
		Where(refreshstatereference.TargetEntityRef(ref), refreshstatereference.SourceEntityRefNotNil()).
		Select(refreshstatereference.FieldSourceEntityRef).Scan(ctx, &out)
	return dedupe(out), dbErr(err, "read parents of %s", ref)
}

// newEntityUID returns the uid of a new entity. Version 7 UUIDs start with their creation time, so the rows of
// one ingest land at the end of every index keyed by uid (entity rows, relations, refresh keys, final entities)
// instead of at random places, which made SQLite re-read and split pages all over those indexes. A uid is
// still an opaque, unique UUID to clients.
func newEntityUID() string {
	return uuid.Must(uuid.NewV7()).String()
}
