// Package schema holds Portal's hand-written ent schemas; everything else under ent/ is generated.
package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// textType keeps large JSON documents in unbounded text columns on every engine.
var textType = map[string]string{dialect.Postgres: "text", dialect.SQLite: "text"}

// Location is a location registered through the API or from config (Backstage's `locations` table).
type Location struct{ ent.Schema }

func (Location) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty(),
		field.String("type").NotEmpty(),
		field.Text("target").NotEmpty().SchemaType(textType),
		// presence "optional" lets the target be missing without an error.
		field.String("presence").Default("required"),
		// origin tells API-registered rows from those config owns; config rows are replaced at start-up
		// and never listed as deletable.
		field.String("origin").Default("api"),
		field.Time("created_at").Default(time.Now).Immutable(),
	}
}

func (Location) Indexes() []ent.Index {
	return []ent.Index{index.Fields("type", "target").Unique()}
}

// RefreshState is one entity as the processing loop sees it: what its source emitted, what processing
// made of it, and when it is next due (Backstage's `refresh_state`).
type RefreshState struct{ ent.Schema }

func (RefreshState) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty(), // the entity's metadata.uid
		field.String("entity_ref").Unique().NotEmpty(),
		field.Text("unprocessed_entity").SchemaType(textType),
		field.String("unprocessed_hash").Default(""),
		field.Text("processed_entity").Optional().Nillable().SchemaType(textType),
		field.String("result_hash").Default(""),
		field.Text("errors").Default("[]").SchemaType(textType),
		// location_key names the source allowed to emit this ref; another source emitting the same ref
		// is a conflict and loses.
		field.String("location_key").Optional().Nillable(),
		field.Time("next_update_at"),
		// claimed_until is the lease of the replica processing the entity: a refresh requested
		// meanwhile makes it due, but nobody else may take it until the lease ends or is released.
		field.Time("claimed_until").Optional().Nillable(),
		field.Time("last_discovery_at").Default(time.Now),
	}
}

func (RefreshState) Indexes() []ent.Index {
	return []ent.Index{index.Fields("next_update_at")}
}

// RefreshStateReference is an edge of the emitter graph: a provider (source_key) or an entity
// (source_entity_ref) emitted target_entity_ref.
type RefreshStateReference struct{ ent.Schema }

func (RefreshStateReference) Fields() []ent.Field {
	return []ent.Field{
		field.String("source_key").Optional().Nillable(),
		field.String("source_entity_ref").Optional().Nillable(),
		field.String("target_entity_ref").NotEmpty(),
	}
}

func (RefreshStateReference) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("source_key"),
		index.Fields("source_entity_ref"),
		index.Fields("target_entity_ref"),
	}
}

// Relation is one relation edge, owned by the entity whose processing emitted it.
type Relation struct{ ent.Schema }

func (Relation) Fields() []ent.Field {
	return []ent.Field{
		field.String("originating_entity_id").NotEmpty(),
		field.String("source_entity_ref").NotEmpty(),
		field.String("type").NotEmpty(),
		field.String("target_entity_ref").NotEmpty(),
	}
}

func (Relation) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("originating_entity_id"),
		index.Fields("source_entity_ref"),
	}
}

// RefreshKey lets a change to a file an entity read (a $text target, the file itself) reach the
// entity: a webhook names the URL, the key finds the entity.
type RefreshKey struct{ ent.Schema }

func (RefreshKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("entity_id").NotEmpty(),
		field.Text("key").NotEmpty().SchemaType(textType),
	}
}

func (RefreshKey) Indexes() []ent.Index {
	return []ent.Index{index.Fields("entity_id"), index.Fields("key")}
}

// FinalEntity is a stitched entity as the API serves it. Rows are versioned from the single
// CatalogVersion counter so that every replica can follow changes in commit order; a row whose
// final_entity is null is a tombstone for a deleted entity.
type FinalEntity struct{ ent.Schema }

func (FinalEntity) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty(), // entity uid
		field.String("entity_ref").NotEmpty(),
		field.String("hash").Default(""),
		field.Text("final_entity").Optional().Nillable().SchemaType(textType),
		field.Int64("version"),
		field.Time("updated_at").Default(time.Now).UpdateDefault(time.Now),
	}
}

func (FinalEntity) Indexes() []ent.Index {
	return []ent.Index{index.Fields("version"), index.Fields("entity_ref")}
}

// CatalogVersion is a one-row counter. Stitching takes its row lock for the rest of its transaction,
// which makes version order equal commit order across replicas.
type CatalogVersion struct{ ent.Schema }

func (CatalogVersion) Fields() []ent.Field {
	return []ent.Field{
		field.Int("id").Immutable(), // always 1
		field.Int64("version").Default(0),
		// tombstones_before is the oldest version a follower may resume from; older followers reload.
		field.Int64("tombstones_before").Default(0),
	}
}

// StitchQueue holds entities whose final form must be rebuilt. Deferring stitching lets a burst
// of processing (a big location read for the first time) rebuild each popular entity — the group
// that owns a thousand components — once, not once per batch.
type StitchQueue struct{ ent.Schema }

func (StitchQueue) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty(), // the entity ref
		field.Time("queued_at"),
	}
}

func (StitchQueue) Indexes() []ent.Index {
	return []ent.Index{index.Fields("queued_at")}
}
