package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Session is a signed-in person's browser session. Only a hash of the cookie value is stored, so a copy of
// the database does not sign anyone in.
type Session struct{ ent.Schema }

func (Session) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty(), // hex SHA-256 of the cookie value
		field.String("user_ref").NotEmpty(),
		field.String("login").Default(""),
		// csrf is the token forms and cookie-authenticated mutations must echo.
		field.String("csrf").NotEmpty(),
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Time("expires_at"),
	}
}

func (Session) Indexes() []ent.Index {
	return []ent.Index{index.Fields("user_ref"), index.Fields("expires_at")}
}

// AccessToken is a personal access token. The token itself is shown once; only its hash is kept.
type AccessToken struct{ ent.Schema }

func (AccessToken) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty(),
		field.String("hash").Unique().NotEmpty(),
		field.String("name").NotEmpty(),
		field.String("owner").NotEmpty(), // the user entity ref it acts as
		field.Strings("scopes"),
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Time("expires_at"),
		field.Time("last_used_at").Optional().Nillable(),
		field.Time("revoked_at").Optional().Nillable(),
	}
}

func (AccessToken) Indexes() []ent.Index {
	return []ent.Index{index.Fields("owner")}
}

// AuditEvent is one mutation through the API: who, what, when, from where, and the outcome.
type AuditEvent struct{ ent.Schema }

func (AuditEvent) Fields() []ent.Field {
	return []ent.Field{
		field.Time("at").Default(time.Now),
		field.String("actor").NotEmpty(),
		field.String("via").Default(""),
		field.String("action").NotEmpty(), // the operation, e.g. createLocation
		field.String("method").NotEmpty(),
		field.Text("path").SchemaType(textType),
		// resource is the entity ref, flag or task the action was about, when known.
		field.String("resource").Default(""),
		field.Int("status"),
		field.String("remote").Default(""),
		field.Text("before").Optional().Nillable().SchemaType(textType),
		field.Text("after").Optional().Nillable().SchemaType(textType),
	}
}

func (AuditEvent) Indexes() []ent.Index {
	return []ent.Index{index.Fields("actor"), index.Fields("resource"), index.Fields("at")}
}
