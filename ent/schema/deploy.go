package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// DeployRelease is one deploy or rollback of a component to an environment, with the objects it applies.
type DeployRelease struct{ ent.Schema }

func (DeployRelease) Fields() []ent.Field {
	return []ent.Field{
		field.String("component").NotEmpty(),
		field.String("environment").NotEmpty(),
		field.String("kind").NotEmpty(),
		field.Int64("rollback_of").Default(0),
		field.String("image_repository").Default(""),
		field.String("image_tag").Default(""),
		field.String("image_digest").Default(""),
		field.String("status").NotEmpty(),
		field.Text("message").Default("").SchemaType(textType),
		field.String("requested_by").Default(""),
		field.String("approved_by").Default(""),
		field.String("namespace").Default(""),
		field.String("workload").Default(""),
		// objects is the JSON array of rendered Kubernetes objects.
		field.Text("objects").Default("[]").SchemaType(textType),
		field.Int64("generation").Default(0),
		field.Int("attempts").Default(0),
		// active_key is component|environment while the release is unfinished and NULL after: its unique index
		// allows one unfinished release per component and environment on every engine.
		field.String("active_key").Optional().Nillable(),
		field.String("claimed_by").Default(""),
		field.Time("lease_until").Optional().Nillable(),
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Time("updated_at").Default(time.Now),
		field.Time("started_at").Optional().Nillable(),
		field.Time("finished_at").Optional().Nillable(),
	}
}

func (DeployRelease) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("active_key").Unique(),
		index.Fields("component", "environment"),
		index.Fields("status"),
	}
}

// DeployEvent is one step of a release.
type DeployEvent struct{ ent.Schema }

func (DeployEvent) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("release_id"),
		field.Time("at").Default(time.Now),
		field.String("type").NotEmpty(),
		field.String("reason").Default(""),
		field.Text("message").Default("").SchemaType(textType),
	}
}

func (DeployEvent) Indexes() []ent.Index {
	return []ent.Index{index.Fields("release_id")}
}

// DeployTofuRun is an OpenTofu plan of a unit, and its apply once approved.
type DeployTofuRun struct{ ent.Schema }

func (DeployTofuRun) Fields() []ent.Field {
	return []ent.Field{
		field.String("unit").NotEmpty(),
		field.String("environment").Default(""),
		field.String("status").NotEmpty(),
		field.String("requested_by").Default(""),
		field.String("approved_by").Default(""),
		// plan_text is `tofu show` of the plan; plan_file the binary plan that apply runs, exactly as planned.
		field.Text("plan_text").Default("").SchemaType(textType),
		field.Bytes("plan_file").Optional(),
		field.Int("adds").Default(0),
		field.Int("changes").Default(0),
		field.Int("destroys").Default(0),
		field.Text("output").Default("").SchemaType(textType),
		field.Text("message").Default("").SchemaType(textType),
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Time("updated_at").Default(time.Now),
	}
}

func (DeployTofuRun) Indexes() []ent.Index {
	return []ent.Index{index.Fields("unit")}
}
