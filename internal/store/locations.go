package store

import (
	"context"

	"github.com/billpay/portal/ent"
	"github.com/billpay/portal/ent/location"
	"github.com/billpay/portal/internal/catalog/service"
	"github.com/billpay/portal/internal/errs"
)

var _ service.Store = (*Store)(nil)

func toLocation(l *ent.Location) service.Location {
	return service.Location{ID: l.ID, Type: l.Type, Target: l.Target, Origin: l.Origin, Presence: l.Presence}
}

// CreateLocation stores a location; errs.Conflict when type and target are already registered.
func (s *Store) CreateLocation(ctx context.Context, l service.Location) (service.Location, error) {
	presence := l.Presence
	if presence == "" {
		presence = "required"
	}
	row, err := s.client.Location.Create().SetID(l.ID).SetType(l.Type).SetTarget(l.Target).SetOrigin(l.Origin).SetPresence(presence).Save(ctx)
	if ent.IsConstraintError(err) {
		return service.Location{}, errs.Wrap(errs.Conflict, err, "Location %s:%s already exists", l.Type, l.Target)
	}
	if err != nil {
		return service.Location{}, dbErr(err, "create location")
	}
	return toLocation(row), nil
}

// ListLocations returns every location of the given origin ("" for all), oldest first.
func (s *Store) ListLocations(ctx context.Context, origin string) ([]service.Location, error) {
	q := s.client.Location.Query().Order(location.ByCreatedAt(), location.ByID())
	if origin != "" {
		q = q.Where(location.Origin(origin))
	}
	rows, err := q.All(ctx)
	if err != nil {
		return nil, dbErr(err, "list locations")
	}
	out := make([]service.Location, len(rows))
	for i, r := range rows {
		out[i] = toLocation(r)
	}
	return out, nil
}

// GetLocation returns one location; errs.NotFound when unknown.
func (s *Store) GetLocation(ctx context.Context, id string) (service.Location, error) {
	row, err := s.client.Location.Get(ctx, id)
	if ent.IsNotFound(err) {
		return service.Location{}, errs.E(errs.NotFound, "Found no location with ID %s", id)
	}
	if err != nil {
		return service.Location{}, dbErr(err, "read location")
	}
	return toLocation(row), nil
}

// FindLocation returns the location with this type and target; errs.NotFound when there is none.
func (s *Store) FindLocation(ctx context.Context, locType, target string) (service.Location, error) {
	row, err := s.client.Location.Query().Where(location.Type(locType), location.Target(target)).Only(ctx)
	if ent.IsNotFound(err) {
		return service.Location{}, errs.E(errs.NotFound, "Found no location %s:%s", locType, target)
	}
	if err != nil {
		return service.Location{}, dbErr(err, "read location")
	}
	return toLocation(row), nil
}

// UpdateLocation changes a location's type and target; errs.Conflict when another has them.
func (s *Store) UpdateLocation(ctx context.Context, l service.Location) (service.Location, error) {
	row, err := s.client.Location.UpdateOneID(l.ID).SetType(l.Type).SetTarget(l.Target).Save(ctx)
	switch {
	case ent.IsNotFound(err):
		return service.Location{}, errs.E(errs.NotFound, "Found no location with ID %s", l.ID)
	case ent.IsConstraintError(err):
		return service.Location{}, errs.Wrap(errs.Conflict, err, "Location %s:%s already exists", l.Type, l.Target)
	case err != nil:
		return service.Location{}, dbErr(err, "update location")
	}
	return toLocation(row), nil
}

// DeleteLocation removes a location row; errs.NotFound when unknown.
func (s *Store) DeleteLocation(ctx context.Context, id string) error {
	err := s.client.Location.DeleteOneID(id).Exec(ctx)
	if ent.IsNotFound(err) {
		return errs.E(errs.NotFound, "Found no location with ID %s", id)
	}
	return dbErr(err, "delete location")
}

// ReplaceConfigLocations makes the config-owned location rows exactly locs.
func (s *Store) ReplaceConfigLocations(ctx context.Context, locs []service.Location) error {
	return s.withTx(ctx, func(tx *ent.Tx) error {
		if _, err := tx.Location.Delete().Where(location.Origin(service.OriginConfig)).Exec(ctx); err != nil {
			return dbErr(err, "clear config locations")
		}
		for _, l := range locs {
			if err := tx.Location.Create().SetID(l.ID).SetType(l.Type).SetTarget(l.Target).SetOrigin(service.OriginConfig).
				OnConflictColumns(location.FieldType, location.FieldTarget).DoNothing().Exec(ctx); err != nil && !isNoRows(err) {
				return dbErr(err, "write config location")
			}
		}
		return nil
	})
}
