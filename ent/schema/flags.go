package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// FlagEnvironment is one environment's flag set header. Its version increases by one with every change to the
// environment; writers update this row first, so changes to one environment are serialised and replicas can
// tell from the version alone what they have not seen.
type FlagEnvironment struct{ ent.Schema }

func (FlagEnvironment) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty(), // the environment name
		field.Int64("version").Default(0),
		// evaluators and metadata are the flag set's shared "$evaluators" and set-level "metadata", as JSON.
		field.Text("evaluators").Default("{}").SchemaType(textType),
		field.Text("metadata").Default("{}").SchemaType(textType),
		field.Time("updated_at").Default(time.Now),
	}
}

// FlagDefinition is one flag in one environment, kept as the flagd JSON its author wrote ($ref unexpanded).
type FlagDefinition struct{ ent.Schema }

func (FlagDefinition) Fields() []ent.Field {
	return []ent.Field{
		field.String("environment").NotEmpty(),
		field.String("key").NotEmpty(),
		field.Text("definition").SchemaType(textType),
		// owner is the normalised entity ref from the flag's metadata.owner, kept apart so owners can be queried.
		field.String("owner").Default(""),
		// revision is the environment version that last wrote the flag: unique, increasing, and the flag's ETag.
		field.Int64("revision"),
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Time("updated_at").Default(time.Now),
		field.String("updated_by").Default(""),
	}
}

func (FlagDefinition) Indexes() []ent.Index {
	return []ent.Index{index.Fields("environment", "key").Unique(), index.Fields("owner")}
}

// FlagAudit records one change: who made it, when, and the flag (or flag set header) before and after.
type FlagAudit struct{ ent.Schema }

func (FlagAudit) Fields() []ent.Field {
	return []ent.Field{
		field.String("environment").NotEmpty(),
		// version is the environment version the change produced; one import writes several rows with one version.
		field.Int64("version"),
		// flag_key is empty for changes to the set's evaluators or metadata.
		field.String("flag_key").Default(""),
		field.String("action").NotEmpty(),
		field.String("actor").NotEmpty(),
		field.Time("at").Default(time.Now),
		field.Text("before").Optional().Nillable().SchemaType(textType),
		field.Text("after").Optional().Nillable().SchemaType(textType),
	}
}

func (FlagAudit) Indexes() []ent.Index {
	return []ent.Index{index.Fields("environment", "version"), index.Fields("environment", "flag_key")}
}

// Setting is a small value every replica must share, such as the key that signs OFREP event-stream URLs.
type Setting struct{ ent.Schema }

func (Setting) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty(),
		field.Text("value").SchemaType(textType),
	}
}
