package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/billpay/portal/ent"
	"github.com/billpay/portal/ent/accesstoken"
	"github.com/billpay/portal/ent/auditevent"
	"github.com/billpay/portal/ent/session"
	"github.com/billpay/portal/internal/audit"
	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/errs"
)

var (
	_ auth.Store  = (*Store)(nil)
	_ audit.Store = (*Store)(nil)
)

// CreateSession implements auth.Store.
func (s *Store) CreateSession(ctx context.Context, sess auth.Session) error {
	err := s.client.Session.Create().SetID(sess.ID).SetUserRef(sess.UserRef).SetLogin(sess.Login).
		SetCsrf(sess.CSRF).SetCreatedAt(sess.CreatedAt).SetExpiresAt(sess.ExpiresAt).Exec(ctx)
	if err != nil {
		return dbErr(err, "cannot store the session")
	}
	// Expired sessions are swept as new ones start, so the table stays as small as the signed-in population.
	_, _ = s.client.Session.Delete().Where(session.ExpiresAtLT(s.now())).Exec(ctx)
	return nil
}

// FindSession implements auth.Store.
func (s *Store) FindSession(ctx context.Context, id string, now time.Time) (auth.Session, error) {
	row, err := s.client.Session.Query().Where(session.ID(id), session.ExpiresAtGT(now)).Only(ctx)
	if err != nil {
		if ent.IsNotFound(err) {
			return auth.Session{}, errs.E(errs.NotFound, "no such session")
		}
		return auth.Session{}, dbErr(err, "cannot read the session")
	}
	return auth.Session{ID: row.ID, UserRef: row.UserRef, Login: row.Login, CSRF: row.Csrf, CreatedAt: row.CreatedAt, ExpiresAt: row.ExpiresAt}, nil
}

// DeleteSession implements auth.Store.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	_, err := s.client.Session.Delete().Where(session.ID(id)).Exec(ctx)
	return dbErr(err, "cannot end the session")
}

func scopeStrings(scopes []auth.Scope) []string {
	out := make([]string, len(scopes))
	for i, sc := range scopes {
		out[i] = string(sc)
	}
	return out
}

func accessToken(row *ent.AccessToken) auth.AccessToken {
	t := auth.AccessToken{ID: row.ID, Name: row.Name, Owner: row.Owner, CreatedAt: row.CreatedAt, ExpiresAt: row.ExpiresAt,
		LastUsedAt: row.LastUsedAt, RevokedAt: row.RevokedAt, Scopes: make([]auth.Scope, len(row.Scopes))}
	for i, sc := range row.Scopes {
		t.Scopes[i] = auth.Scope(sc)
	}
	return t
}

// CreateAccessToken implements auth.Store.
func (s *Store) CreateAccessToken(ctx context.Context, t auth.AccessToken, hash string) error {
	err := s.client.AccessToken.Create().SetID(t.ID).SetHash(hash).SetName(t.Name).SetOwner(t.Owner).
		SetScopes(scopeStrings(t.Scopes)).SetCreatedAt(t.CreatedAt).SetExpiresAt(t.ExpiresAt).Exec(ctx)
	return dbErr(err, "cannot store the token")
}

// FindAccessToken implements auth.Store.
func (s *Store) FindAccessToken(ctx context.Context, hash string) (auth.AccessToken, error) {
	row, err := s.client.AccessToken.Query().Where(accesstoken.Hash(hash)).Only(ctx)
	if err != nil {
		if ent.IsNotFound(err) {
			return auth.AccessToken{}, errs.E(errs.NotFound, "no such token")
		}
		return auth.AccessToken{}, dbErr(err, "cannot read the token")
	}
	return accessToken(row), nil
}

// GetAccessToken implements auth.Store.
func (s *Store) GetAccessToken(ctx context.Context, id string) (auth.AccessToken, error) {
	row, err := s.client.AccessToken.Get(ctx, id)
	if err != nil {
		if ent.IsNotFound(err) {
			return auth.AccessToken{}, errs.E(errs.NotFound, "No token %s", id)
		}
		return auth.AccessToken{}, dbErr(err, "cannot read the token")
	}
	return accessToken(row), nil
}

// TouchAccessToken implements auth.Store.
func (s *Store) TouchAccessToken(ctx context.Context, id string, at time.Time) error {
	return dbErr(s.client.AccessToken.UpdateOneID(id).SetLastUsedAt(at.UTC()).Exec(ctx), "cannot record token use")
}

// ListAccessTokens implements auth.Store.
func (s *Store) ListAccessTokens(ctx context.Context, owner string) ([]auth.AccessToken, error) {
	rows, err := s.client.AccessToken.Query().Where(accesstoken.Owner(owner)).Order(ent.Desc(accesstoken.FieldCreatedAt)).All(ctx)
	if err != nil {
		return nil, dbErr(err, "cannot list tokens")
	}
	out := make([]auth.AccessToken, len(rows))
	for i, r := range rows {
		out[i] = accessToken(r)
	}
	return out, nil
}

// RevokeAccessToken implements auth.Store.
func (s *Store) RevokeAccessToken(ctx context.Context, id string, at time.Time) error {
	n, err := s.client.AccessToken.Update().Where(accesstoken.ID(id), accesstoken.RevokedAtIsNil()).SetRevokedAt(at.UTC()).Save(ctx)
	if err != nil {
		return dbErr(err, "cannot revoke the token")
	}
	if n == 0 {
		if _, err := s.client.AccessToken.Get(ctx, id); ent.IsNotFound(err) {
			return errs.E(errs.NotFound, "No token %s", id)
		}
	}
	return nil
}

// RecordAudit implements audit.Store.
func (s *Store) RecordAudit(ctx context.Context, e audit.Event) error {
	c := s.client.AuditEvent.Create().SetAt(e.At.UTC()).SetActor(e.Actor).SetVia(e.Via).SetAction(e.Action).
		SetMethod(e.Method).SetPath(e.Path).SetResource(e.Resource).SetStatus(e.Status).SetRemote(e.Remote)
	if e.Before != nil {
		c.SetBefore(string(e.Before))
	}
	if e.After != nil {
		c.SetAfter(string(e.After))
	}
	return dbErr(c.Exec(ctx), "cannot record the audit event")
}

// ListAudit implements audit.Store.
func (s *Store) ListAudit(ctx context.Context, q audit.Query) ([]audit.Event, error) {
	query := s.client.AuditEvent.Query()
	if q.Actor != "" {
		query.Where(auditevent.Actor(q.Actor))
	}
	if q.Action != "" {
		query.Where(auditevent.Action(q.Action))
	}
	if q.Resource != "" {
		query.Where(auditevent.Resource(q.Resource))
	}
	if !q.Since.IsZero() {
		query.Where(auditevent.AtGTE(q.Since.UTC()))
	}
	if q.BeforeID > 0 {
		query.Where(auditevent.IDLT(int(q.BeforeID)))
	}
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := query.Order(ent.Desc(auditevent.FieldID)).Limit(limit).All(ctx)
	if err != nil {
		return nil, dbErr(err, "cannot read the audit log")
	}
	out := make([]audit.Event, len(rows))
	for i, r := range rows {
		out[i] = audit.Event{ID: int64(r.ID), At: r.At, Actor: r.Actor, Via: r.Via, Action: r.Action, Method: r.Method,
			Path: r.Path, Resource: r.Resource, Status: r.Status, Remote: r.Remote}
		if r.Before != nil {
			out[i].Before = json.RawMessage(*r.Before)
		}
		if r.After != nil {
			out[i].After = json.RawMessage(*r.After)
		}
	}
	return out, nil
}
