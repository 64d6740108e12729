package httpapi

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/billpay/portal/internal/audit"
	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/catalog/service"
	"github.com/billpay/portal/internal/errs"
)

const catalogTag = "Catalog"

// catalogOp declares a catalog operation with the Backstage error statuses it may return.
// operation describes a route of one of the API's sections: its body limit, bearer security and the errors
// every route may answer; mutating routes also answer mutatingErrors.
func (s *Server) operation(tag, id, method, path, summary string, mutating bool, mutatingErrors ...int) huma.Operation {
	op := huma.Operation{
		MaxBodyBytes: s.opts.MaxBodyBytes,
		OperationID:  id, Method: method, Path: path, Summary: summary, Tags: []string{tag},
		Errors:   []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound},
		Security: []map[string][]string{{"bearer": {}}},
	}
	if mutating {
		op.Errors = append(op.Errors, mutatingErrors...)
	}
	return op
}

func (s *Server) catalogOp(id, method, path, summary string, mutating bool) huma.Operation {
	op := s.operation(catalogTag, id, method, "/api/catalog"+path, summary, mutating, http.StatusForbidden, http.StatusConflict)
	// Backstage validates requests against its OpenAPI description, which refuses unknown
	// query parameters; a misspelt filter must not silently return everything.
	op.RejectUnknownQueryParameters = true
	return op
}

type listEntitiesInput struct {
	Filter []string `query:"filter,explode" doc:"Filter set: comma-separated key=value, key= or key statements (AND); repeat for OR"`
	Fields []string `query:"fields,explode" doc:"Dotted paths to keep, comma-separated or repeated"`
	Order  []string `query:"order,explode" doc:"asc:<field> or desc:<field>; repeatable"`
	Limit  string   `query:"limit" doc:"Maximum number of entities (positive integer)"`
	Offset string   `query:"offset" doc:"Entities to skip (non-negative integer)"`
	After  string   `query:"after" doc:"Opaque cursor from a Link header"`
}

type byQueryInput struct {
	Filter               []string `query:"filter,explode"`
	Fields               []string `query:"fields,explode"`
	OrderField           []string `query:"orderField,explode" doc:"<field>[,asc|desc]; only the first is used"`
	Cursor               string   `query:"cursor" doc:"Opaque cursor from pageInfo"`
	Limit                string   `query:"limit" doc:"Page size (default 200; 0 counts only)"`
	Offset               string   `query:"offset"`
	FullTextFilterTerm   string   `query:"fullTextFilterTerm"`
	FullTextFilterFields string   `query:"fullTextFilterFields" doc:"Comma-separated fields to search"`
	TotalItems           string   `query:"totalItems" enum:"include,exclude" doc:"exclude skips counting"`
}

type pageInfo struct {
	NextCursor string `json:"nextCursor,omitempty"`
	PrevCursor string `json:"prevCursor,omitempty"`
}

type orderBy struct {
	Field string `json:"field"`
	Order string `json:"order,omitempty" enum:"asc,desc"`
}

type fullTextFilter struct {
	Term   string   `json:"term"`
	Fields []string `json:"fields,omitempty"`
}

type byQueryPostInput struct {
	Body struct {
		Cursor         string          `json:"cursor,omitempty"`
		Limit          *int            `json:"limit,omitempty" minimum:"0"`
		Offset         *int            `json:"offset,omitempty" minimum:"0"`
		OrderBy        []orderBy       `json:"orderBy,omitempty"`
		OrderField     []string        `json:"orderField,omitempty"`
		FullTextFilter *fullTextFilter `json:"fullTextFilter,omitempty"`
		Fields         []string        `json:"fields,omitempty"`
		Query          json.RawMessage `json:"query,omitempty" doc:"Predicate filter: {\"kind\": \"component\", \"spec.type\": {\"$in\": [...]}}"`
		TotalItems     string          `json:"totalItems,omitempty" enum:"include,exclude"`
	}
}

type byNameInput struct {
	Kind      string `path:"kind"`
	Namespace string `path:"namespace"`
	Name      string `path:"name"`
}

type byUIDInput struct {
	UID string `path:"uid"`
}

type byRefsInput struct {
	Filter []string `query:"filter,explode"`
	Body   struct {
		EntityRefs []string `json:"entityRefs" required:"true"`
		Fields     []string `json:"fields,omitempty"`
	}
}

type facetsInput struct {
	Facet  []string `query:"facet,explode" doc:"Dotted field to count values of; repeatable"`
	Filter []string `query:"filter,explode"`
}

type facetsPostInput struct {
	Body struct {
		Facets []string        `json:"facets" required:"true"`
		Query  json.RawMessage `json:"query,omitempty"`
	}
}

type facetsOutput struct {
	Body struct {
		Facets map[string][]catalog.FacetCount `json:"facets"`
	}
}

type ancestryOutput struct {
	Body struct {
		RootEntityRef string                 `json:"rootEntityRef"`
		Items         []service.AncestryItem `json:"items"`
	}
}

// locationJSON is Backstage's Location object.
type locationJSON struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Target    string `json:"target"`
	EntityRef string `json:"entityRef,omitempty"`
}

func toLocationJSON(l service.Location) locationJSON {
	return locationJSON{ID: l.ID, Type: l.Type, Target: l.Target, EntityRef: l.EntityRef()}
}

type locationsOutput struct {
	Body []struct {
		Data locationJSON `json:"data"`
	}
}

type locationOutput struct {
	Body locationJSON
}

type locationInputBody struct {
	Type     string `json:"type" required:"true"`
	Target   string `json:"target" required:"true"`
	Presence string `json:"presence,omitempty" enum:"required,optional"`
}

type addLocationInput struct {
	DryRun     string `query:"dryRun" doc:"true to read the location without registering it"`
	OnConflict string `query:"onConflict" enum:"reject,refresh" doc:"refresh answers a duplicate with the existing location, processed again now"`
	Body       locationInputBody
}

type addLocationOutput struct {
	Body struct {
		Location locationJSON     `json:"location"`
		Entities []catalog.Entity `json:"entities"`
		Exists   *bool            `json:"exists,omitempty"`
	}
}

type locationIDInput struct {
	ID string `path:"id"`
}

type updateLocationInput struct {
	ID   string `path:"id"`
	Body locationInputBody
}

type refreshInput struct {
	Body struct {
		EntityRef          string `json:"entityRef" required:"true"`
		AuthorizationToken string `json:"authorizationToken,omitempty"`
	}
}

type validateInput struct {
	Body struct {
		Entity   map[string]any `json:"entity" required:"true"`
		Location string         `json:"location" required:"true"`
	}
}

type validateOutput struct {
	Status int
	Body   *validateErrors
}

type validateErrors struct {
	Errors []backstageErrorDetail `json:"errors"`
}

type analyzeInput struct {
	Body struct {
		Location struct {
			Type   string `json:"type,omitempty"`
			Target string `json:"target" required:"true"`
		} `json:"location" required:"true"`
		CatalogFilename string `json:"catalogFilename,omitempty"`
		CatalogFileName string `json:"catalogFileName,omitempty" doc:"Alias of catalogFilename"`
	}
}

type analyzeOutput struct {
	Body service.AnalyzeResult
}

func (s *Server) registerCatalog() {
	svc := s.opts.Catalog

	list := s.catalogOp("getEntities", http.MethodGet, "/entities", "List entities", false)
	documentJSON(s.api, &list, []entityDoc{}, "Entities")
	huma.Register(s.api, list,
		func(ctx context.Context, in *listEntitiesInput) (*rawOutput, error) {
			req := catalog.ListRequest{}
			var err error
			if req.Filter, err = catalog.ParseFilterParams(in.Filter); err != nil {
				return nil, backstageErr(ctx, err)
			}
			if req.Fields, err = catalog.ParseFields(in.Fields); err != nil {
				return nil, backstageErr(ctx, err)
			}
			if req.Order, err = catalog.ParseOrderParams(in.Order); err != nil {
				return nil, backstageErr(ctx, err)
			}
			limitSet := in.Limit != ""
			if limitSet {
				if req.Limit, err = parseInt(ctx, "limit", in.Limit); err != nil {
					return nil, err
				}
				if req.Limit <= 0 {
					return nil, inputErr(ctx, "Invalid limit, must be greater than zero")
				}
			}
			if in.Offset != "" {
				if req.Offset, err = parseInt(ctx, "offset", in.Offset); err != nil {
					return nil, err
				}
				if req.Offset < 0 {
					return nil, inputErr(ctx, "Invalid offset, must be zero or greater")
				}
			}
			if in.After != "" {
				c, err := decodeAfter(in.After)
				if err != nil {
					return nil, inputErr(ctx, "Malformed after cursor, %v", err)
				}
				req.Limit, req.Offset, limitSet = c.Limit, c.Offset, c.Limit > 0
			}
			page, more := svc.Index().ListPage(req)
			out := pageStream(page)
			if limitSet && more {
				out.Link = nextLink(ctx, req.Limit, req.Offset+req.Limit)
			}
			return out, nil
		})

	byQuery := s.catalogOp("getEntitiesByQuery", http.MethodGet, "/entities/by-query", "Query entities with cursor pagination", false)
	documentJSON(s.api, &byQuery, queryDoc{}, "A page of entities")
	huma.Register(s.api, byQuery,
		func(ctx context.Context, in *byQueryInput) (*rawOutput, error) {
			req := catalog.QueryRequest{Cursor: in.Cursor, SkipTotal: in.TotalItems == "exclude"}
			var err error
			if in.Cursor == "" && hasParam(ctx, "cursor") {
				return nil, inputErr(ctx, "Invalid cursor, must not be empty")
			}
			if req.Filter, err = catalog.ParseFilterParams(in.Filter); err != nil {
				return nil, backstageErr(ctx, err)
			}
			if req.Fields, err = catalog.ParseFields(in.Fields); err != nil {
				return nil, backstageErr(ctx, err)
			}
			if req.OrderFields, err = catalog.ParseOrderFieldParams(in.OrderField); err != nil {
				return nil, backstageErr(ctx, err)
			}
			if in.Limit != "" {
				if req.Limit, err = parseInt(ctx, "limit", in.Limit); err != nil {
					return nil, err
				}
				if req.Limit < 0 {
					return nil, inputErr(ctx, "Invalid limit, must be zero or greater")
				}
				req.LimitSet = true
			}
			if in.Offset != "" {
				if req.Offset, err = parseInt(ctx, "offset", in.Offset); err != nil {
					return nil, err
				}
				if req.Offset < 0 {
					return nil, inputErr(ctx, "Invalid offset, must be zero or greater")
				}
			}
			req.FullTextTerm = strings.TrimSpace(in.FullTextFilterTerm)
			if in.FullTextFilterFields != "" {
				for _, f := range strings.Split(in.FullTextFilterFields, ",") {
					if f = strings.TrimSpace(f); f != "" {
						req.FullTextFields = append(req.FullTextFields, f)
					}
				}
			}
			return runQuery(ctx, svc, req)
		})

	byPredicate := s.catalogOp("queryEntitiesByPredicate", http.MethodPost, "/entities/by-query", "Query entities with a predicate filter", false)
	documentJSON(s.api, &byPredicate, queryDoc{}, "A page of entities")
	huma.Register(s.api, byPredicate,
		func(ctx context.Context, in *byQueryPostInput) (*rawOutput, error) {
			b := in.Body
			req := catalog.QueryRequest{Cursor: b.Cursor, Fields: b.Fields, SkipTotal: b.TotalItems == "exclude", Predicate: true}
			var err error
			if len(b.Query) > 0 && string(b.Query) != "null" {
				if req.Filter, err = catalog.ParsePredicate(b.Query); err != nil {
					return nil, backstageErr(ctx, err)
				}
			}
			if b.Limit != nil {
				req.Limit, req.LimitSet = *b.Limit, true
			}
			if b.Offset != nil {
				req.Offset = *b.Offset
			}
			for _, o := range b.OrderBy {
				req.OrderFields = append(req.OrderFields, catalog.OrderField{Field: o.Field, Desc: o.Order == "desc"})
			}
			if len(req.OrderFields) == 0 && len(b.OrderField) > 0 {
				if req.OrderFields, err = catalog.ParseOrderFieldParams(b.OrderField); err != nil {
					return nil, backstageErr(ctx, err)
				}
			}
			if b.FullTextFilter != nil {
				req.FullTextTerm = strings.TrimSpace(b.FullTextFilter.Term)
				req.FullTextFields = b.FullTextFilter.Fields
			}
			return runQuery(ctx, svc, req)
		})

	byUID := s.catalogOp("getEntityByUid", http.MethodGet, "/entities/by-uid/{uid}", "Get an entity by uid", false)
	documentJSON(s.api, &byUID, entityDoc{}, "The entity")
	huma.Register(s.api, byUID,
		func(ctx context.Context, in *byUIDInput) (*rawOutput, error) {
			raw, err := svc.GetByUID(in.UID)
			if err != nil {
				return nil, backstageErr(ctx, err)
			}
			return rawJSON(raw), nil
		})

	del := s.catalogOp("deleteEntityByUid", http.MethodDelete, "/entities/by-uid/{uid}", "Delete an entity by uid", true)
	del.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, del, func(ctx context.Context, in *byUIDInput) (*struct{}, error) {
		before, _ := svc.GetByUID(in.UID)
		if err := svc.DeleteByUID(ctx, in.UID); err != nil {
			return nil, backstageErr(ctx, err)
		}
		audit.Describe(ctx, entityRefOf(before), json.RawMessage(before), nil)
		return nil, nil
	})

	byName := s.catalogOp("getEntityByName", http.MethodGet, "/entities/by-name/{kind}/{namespace}/{name}", "Get an entity by kind, namespace and name", false)
	documentJSON(s.api, &byName, entityDoc{}, "The entity")
	huma.Register(s.api, byName,
		func(ctx context.Context, in *byNameInput) (*rawOutput, error) {
			raw, err := svc.GetByRef(in.Kind, in.Namespace, in.Name)
			if err != nil {
				return nil, backstageErr(ctx, err)
			}
			return rawJSON(raw), nil
		})

	huma.Register(s.api, s.catalogOp("getEntityAncestryByName", http.MethodGet, "/entities/by-name/{kind}/{namespace}/{name}/ancestry", "Get the locations and entities an entity descends from", false),
		func(ctx context.Context, in *byNameInput) (*ancestryOutput, error) {
			root, items, err := svc.Ancestry(ctx, in.Kind, in.Namespace, in.Name)
			if err != nil {
				return nil, backstageErr(ctx, err)
			}
			out := &ancestryOutput{}
			out.Body.RootEntityRef, out.Body.Items = root, items
			return out, nil
		})

	byRefs := s.catalogOp("getEntitiesByRefs", http.MethodPost, "/entities/by-refs", "Get many entities by ref, in request order", false)
	documentJSON(s.api, &byRefs, byRefsDoc{}, "The entities")
	huma.Register(s.api, byRefs,
		func(ctx context.Context, in *byRefsInput) (*rawOutput, error) {
			filter, err := catalog.ParseFilterParams(in.Filter)
			if err != nil {
				return nil, backstageErr(ctx, err)
			}
			fields, err := catalog.ParseFields(in.Body.Fields)
			if err != nil {
				return nil, backstageErr(ctx, err)
			}
			items := svc.GetByRefs(in.Body.EntityRefs, filter, fields)
			return streamJSON(func(w *bufio.Writer) {
				_, _ = w.WriteString(`{"items":`)
				writeArray(w, items)
				_ = w.WriteByte('}')
			}), nil
		})

	huma.Register(s.api, s.catalogOp("getEntityFacets", http.MethodGet, "/entity-facets", "Count entities by field value", false),
		func(ctx context.Context, in *facetsInput) (*facetsOutput, error) {
			if len(in.Facet) == 0 {
				return nil, inputErr(ctx, "Missing facet parameter")
			}
			filter, err := catalog.ParseFilterParams(in.Filter)
			if err != nil {
				return nil, backstageErr(ctx, err)
			}
			out := &facetsOutput{}
			out.Body.Facets = svc.Index().Facets(in.Facet, filter)
			return out, nil
		})

	huma.Register(s.api, s.catalogOp("queryEntityFacets", http.MethodPost, "/entity-facets", "Count entities by field value, with a predicate filter", false),
		func(ctx context.Context, in *facetsPostInput) (*facetsOutput, error) {
			if len(in.Body.Facets) == 0 {
				return nil, inputErr(ctx, "Missing facet parameter")
			}
			var filter catalog.Filter
			if len(in.Body.Query) > 0 && string(in.Body.Query) != "null" {
				var err error
				if filter, err = catalog.ParsePredicate(in.Body.Query); err != nil {
					return nil, backstageErr(ctx, err)
				}
			}
			out := &facetsOutput{}
			out.Body.Facets = svc.Index().Facets(in.Body.Facets, filter)
			return out, nil
		})

	huma.Register(s.api, s.catalogOp("getLocations", http.MethodGet, "/locations", "List registered locations", false),
		func(ctx context.Context, _ *struct{}) (*locationsOutput, error) {
			locs, err := svc.ListLocations(ctx)
			if err != nil {
				return nil, backstageErr(ctx, err)
			}
			out := &locationsOutput{}
			for _, l := range locs {
				out.Body = append(out.Body, struct {
					Data locationJSON `json:"data"`
				}{toLocationJSON(l)})
			}
			if out.Body == nil {
				out.Body = make([]struct {
					Data locationJSON `json:"data"`
				}, 0)
			}
			return out, nil
		})

	add := s.catalogOp("createLocation", http.MethodPost, "/locations", "Register a location (or read it with dryRun)", true)
	add.DefaultStatus = http.StatusCreated
	huma.Register(s.api, add, func(ctx context.Context, in *addLocationInput) (*addLocationOutput, error) {
		res, err := svc.AddLocation(ctx, service.AddLocationRequest{Type: in.Body.Type, Target: in.Body.Target,
			Presence: in.Body.Presence, DryRun: truthy(in.DryRun), RefreshOnConflict: in.OnConflict == "refresh"})
		if err != nil {
			return nil, backstageErr(ctx, err)
		}
		if !truthy(in.DryRun) {
			audit.Describe(ctx, "location:"+res.Location.ID, nil, toLocationJSON(res.Location))
		}
		out := &addLocationOutput{}
		out.Body.Location = toLocationJSON(res.Location)
		if res.Exists != nil {
			out.Body.Location.EntityRef = ""
		}
		out.Body.Entities = res.Entities
		if out.Body.Entities == nil {
			out.Body.Entities = []catalog.Entity{}
		}
		out.Body.Exists = res.Exists
		return out, nil
	})

	huma.Register(s.api, s.catalogOp("getLocation", http.MethodGet, "/locations/{id}", "Get a location by id", false),
		func(ctx context.Context, in *locationIDInput) (*locationOutput, error) {
			l, err := svc.GetLocation(ctx, in.ID)
			if err != nil {
				return nil, backstageErr(ctx, err)
			}
			return &locationOutput{Body: toLocationJSON(l)}, nil
		})

	huma.Register(s.api, s.catalogOp("updateLocation", http.MethodPut, "/locations/{id}", "Change a registered location", true),
		func(ctx context.Context, in *updateLocationInput) (*locationOutput, error) {
			before, _ := svc.GetLocation(ctx, in.ID)
			l, err := svc.UpdateLocation(ctx, in.ID, in.Body.Type, in.Body.Target)
			if err != nil {
				return nil, backstageErr(ctx, err)
			}
			audit.Describe(ctx, "location:"+in.ID, toLocationJSON(before), toLocationJSON(l))
			return &locationOutput{Body: toLocationJSON(l)}, nil
		})

	rm := s.catalogOp("deleteLocation", http.MethodDelete, "/locations/{id}", "Unregister a location and delete what only it emitted", true)
	rm.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, rm, func(ctx context.Context, in *locationIDInput) (*struct{}, error) {
		before, _ := svc.GetLocation(ctx, in.ID)
		if err := svc.RemoveLocation(ctx, in.ID); err != nil {
			return nil, backstageErr(ctx, err)
		}
		audit.Describe(ctx, "location:"+in.ID, toLocationJSON(before), nil)
		return nil, nil
	})

	huma.Register(s.api, s.catalogOp("getLocationByEntity", http.MethodGet, "/locations/by-entity/{kind}/{namespace}/{name}", "Get the registered location an entity came from", false),
		func(ctx context.Context, in *byNameInput) (*locationOutput, error) {
			l, err := svc.LocationByEntity(ctx, in.Kind, in.Namespace, in.Name)
			if err != nil {
				return nil, backstageErr(ctx, err)
			}
			return &locationOutput{Body: toLocationJSON(l)}, nil
		})

	refresh := s.catalogOp("refreshEntity", http.MethodPost, "/refresh", "Process an entity and its location again now", true)
	refresh.DefaultStatus = http.StatusOK
	huma.Register(s.api, refresh, func(ctx context.Context, in *refreshInput) (*struct{}, error) {
		if err := svc.Refresh(ctx, in.Body.EntityRef); err != nil {
			return nil, backstageErr(ctx, err)
		}
		if ref, err := catalog.ParseRef(in.Body.EntityRef, catalog.RefDefaults{}); err == nil {
			audit.Describe(ctx, ref.Lower().String(), nil, nil)
		}
		return nil, nil
	})

	validate := s.catalogOp("validateEntity", http.MethodPost, "/validate-entity", "Check an entity without storing it", false)
	huma.Register(s.api, validate, func(ctx context.Context, in *validateInput) (*validateOutput, error) {
		problems := svc.ValidateEntity(ctx, catalog.Entity(in.Body.Entity), in.Body.Location)
		if len(problems) == 0 {
			return &validateOutput{Status: http.StatusOK}, nil
		}
		out := &validateOutput{Status: http.StatusBadRequest, Body: &validateErrors{}}
		for _, p := range problems {
			d := backstageErrorDetail{Name: "InputError", Message: errs.MessageOf(p)}
			var ve *service.ValidationError
			if errors.As(p, &ve) {
				d = backstageErrorDetail{Name: ve.Name, Message: ve.Message}
			}
			out.Body.Errors = append(out.Body.Errors, d)
		}
		return out, nil
	})

	huma.Register(s.api, s.catalogOp("analyzeLocation", http.MethodPost, "/analyze-location", "Find or suggest catalog files for a repository", true),
		func(ctx context.Context, in *analyzeInput) (*analyzeOutput, error) {
			name := in.Body.CatalogFilename
			if name == "" {
				name = in.Body.CatalogFileName
			}
			res, err := svc.AnalyzeLocation(ctx, in.Body.Location.Type, in.Body.Location.Target, name)
			if err != nil {
				return nil, backstageErr(ctx, err)
			}
			return &analyzeOutput{Body: res}, nil
		})
}

func runQuery(ctx context.Context, svc *service.Service, req catalog.QueryRequest) (*rawOutput, error) {
	res, err := svc.Index().QueryPage(req)
	if err != nil {
		return nil, backstageErr(ctx, err)
	}
	return queryStream(res), nil
}

// parseInt accepts only decimal integers that round-trip, as Backstage does ("10a" and "1.0" fail).
func parseInt(ctx context.Context, name, v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || strconv.Itoa(n) != v {
		return 0, inputErr(ctx, "Invalid %s, not an integer", name)
	}
	return n, nil
}

func hasParam(ctx context.Context, name string) bool {
	info, ok := ctx.Value(requestInfoKey{}).(backstageRequest)
	if !ok {
		return false
	}
	u, err := url.ParseRequestURI(info.URL)
	if err != nil {
		return false
	}
	_, present := u.Query()[name]
	return present
}

// truthy reads a flag the way Backstage's yn does.
func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "t", "yes", "y", "on":
		return true
	}
	return false
}

type afterCursor struct {
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

func decodeAfter(s string) (afterCursor, error) {
	var c afterCursor
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b, err = base64.RawURLEncoding.DecodeString(s); err != nil {
			return c, err
		}
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, err
	}
	if c.Limit < 0 || c.Offset < 0 {
		return c, errs.E(errs.Invalid, "negative limit or offset")
	}
	return c, nil
}

// nextLink builds the Link header of GET /entities: the original query minus paging, plus after.
// The path is router-relative, as Backstage sends it.
func nextLink(ctx context.Context, limit, offset int) string {
	q := url.Values{}
	if info, ok := ctx.Value(requestInfoKey{}).(backstageRequest); ok {
		if u, err := url.ParseRequestURI(info.URL); err == nil {
			q = u.Query()
		}
	}
	q.Del("offset")
	q.Del("after")
	b, _ := json.Marshal(afterCursor{Limit: limit, Offset: offset})
	q.Set("after", base64.StdEncoding.EncodeToString(b))
	return "</entities?" + q.Encode() + `>; rel="next"`
}

// entityRefOf names an entity's JSON by its canonical ref, the resource its audit entries are filed under.
func entityRefOf(raw []byte) string {
	var e catalog.Entity
	if json.Unmarshal(raw, &e) != nil || e == nil {
		return ""
	}
	return e.Ref().Lower().String()
}
