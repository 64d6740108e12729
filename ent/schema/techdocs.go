package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// TechDocsBuild is the docs of one entity as the builders see them: the last build's outcome,
// which source it was built from, when the source is next checked, and which replica holds the
// entity's build lease. Kept in the database so every replica reports the same status and only one
// builds an entity at a time.
type TechDocsBuild struct{ ent.Schema }

func (TechDocsBuild) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "techdocs_builds"}}
}

func (TechDocsBuild) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty(), // the canonical entity ref
		// state is pending (never built), building, succeeded or failed.
		field.String("state").Default("pending"),
		field.Time("started_at").Optional().Nillable(),
		field.Time("finished_at").Optional().Nillable(),
		// warnings is the last build's diagnostics as JSON; error its failure, "" when it succeeded.
		field.Text("warnings").Default("[]").SchemaType(textType),
		field.Text("error").Default("").SchemaType(textType),
		// etag is the published site's techdocs_metadata.json etag.
		field.String("etag").Default(""),
		// source_hash identifies the source (and builder) the published site was built from; a check
		// that finds the same hash builds nothing.
		field.String("source_hash").Default(""),
		// entity_etag is the catalog etag of the entity when last seen: a change (say, to its
		// techdocs-ref) makes the docs due for a check at once.
		field.String("entity_etag").Default(""),
		field.Time("checked_at").Optional().Nillable(),
		field.Time("next_check_at"),
		// force rebuilds at the next check even when the source is unchanged.
		field.Bool("force").Default(false),
		field.String("lease_owner").Default(""),
		field.Time("lease_until").Optional().Nillable(),
		field.Time("updated_at").Default(time.Now).UpdateDefault(time.Now),
	}
}

func (TechDocsBuild) Indexes() []ent.Index {
	return []ent.Index{index.Fields("next_check_at")}
}
