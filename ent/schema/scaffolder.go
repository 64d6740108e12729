package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// ScaffolderTask is one scaffolder task (Backstage's `tasks` table): the spec it runs, its status, who
// created it, and which runner holds it while it runs.
type ScaffolderTask struct{ ent.Schema }

func (ScaffolderTask) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty(), // a UUID
		// spec is the TaskSpec as JSON, keys in the template's order.
		field.Text("spec").SchemaType(textType),
		// status is open, processing, completed, failed or cancelled.
		field.String("status").NotEmpty(),
		field.String("created_by").Default(""),
		field.Time("created_at").Default(time.Now).Immutable(),
		// secrets are AES-GCM sealed with the key in the settings table, and dropped when the task ends.
		field.Text("secrets").Optional().Nillable().Sensitive().SchemaType(textType),
		// claimed_by names the runner (replica and worker) that claimed the task.
		field.String("claimed_by").Default(""),
		field.Time("last_heartbeat_at").Optional().Nillable(),
		field.Bool("cancel_requested").Default(false),
		field.Time("finished_at").Optional().Nillable(),
	}
}

func (ScaffolderTask) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("status", "created_at"),
		index.Fields("created_by", "created_at"),
		index.Fields("created_at"),
	}
}

// ScaffolderEvent is one entry of a task's event stream (Backstage's `task_events`). Its id is the
// event id clients resume from, increasing across the table.
type ScaffolderEvent struct{ ent.Schema }

func (ScaffolderEvent) Fields() []ent.Field {
	return []ent.Field{
		field.String("task_id").NotEmpty(),
		// type is log, completion, cancelled or recovered.
		field.String("type").NotEmpty(),
		field.Text("body").SchemaType(textType),
		field.Time("created_at").Default(time.Now).Immutable(),
	}
}

func (ScaffolderEvent) Indexes() []ent.Index {
	return []ent.Index{index.Fields("task_id")}
}
