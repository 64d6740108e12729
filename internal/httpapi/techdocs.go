package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
	tdservice "github.com/billpay/portal/internal/techdocs/service"
)

const techDocsTag = "TechDocs"

// docsContentSecurityPolicy is sent with every docs file. Files are served as text/plain or as
// images and styles, never as pages, so nothing should run; should a browser render one anyway,
// the sandbox gives it an opaque origin with no scripts, so it can never act as the portal.
const docsContentSecurityPolicy = "default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; sandbox"

func (s *Server) techDocsOp(id, method, path, summary string) huma.Operation {
	return s.operation(techDocsTag, id, method, "/api/techdocs"+path, summary, false)
}

// docsEntityInput names an entity as TechDocs routes do: namespace, kind, name (the catalog's
// routes put kind first).
type docsEntityInput struct {
	Namespace string `path:"namespace"`
	Kind      string `path:"kind"`
	Name      string `path:"name"`
}

func (in docsEntityInput) ref() catalog.Ref {
	return catalog.Ref{Kind: in.Kind, Namespace: in.Namespace, Name: in.Name}
}

// docsFileInput repeats docsEntityInput's fields: huma binds path parameters of the input's own
// fields only.
type docsFileInput struct {
	Namespace string `path:"namespace"`
	Kind      string `path:"kind"`
	Name      string `path:"name"`
	Path      string `path:"path" doc:"File path inside the site, e.g. index.html or guide/setup/index.html"`
}

func (in docsFileInput) ref() catalog.Ref {
	return catalog.Ref{Kind: in.Kind, Namespace: in.Namespace, Name: in.Name}
}

type docsFileOutput struct {
	ContentType    string `header:"Content-Type"`
	ContentLength  string `header:"Content-Length"`
	NoSniff        string `header:"X-Content-Type-Options"`
	CSP            string `header:"Content-Security-Policy"`
	CacheControl   string `header:"Cache-Control"`
	ReferrerPolicy string `header:"Referrer-Policy"`
	Body           func(huma.Context)
}

// locationMetadataJSON is where an entity's docs come from, as Backstage reports it.
type locationMetadataJSON struct {
	Type   string `json:"type" enum:"dir,url"`
	Target string `json:"target"`
}

// docsDiagnosticJSON is one build warning.
type docsDiagnosticJSON struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// docsBuildJSON is an entity's docs build as Portal reports it.
type docsBuildJSON struct {
	EntityRef string `json:"entityRef" example:"component:default/portal"`
	State     string `json:"state" enum:"pending,building,succeeded,failed" doc:"pending: never built; building: a replica is building; succeeded or failed: the last build's outcome (failed builds leave earlier docs published)"`
	// Error is why the last build failed.
	Error      string               `json:"error,omitempty"`
	Warnings   []docsDiagnosticJSON `json:"warnings"`
	Etag       string               `json:"etag,omitempty" doc:"The published site's etag (techdocs_metadata.json)"`
	SourceHash string               `json:"sourceHash,omitempty" doc:"Identifies the source the published site was built from"`
	StartedAt  *time.Time           `json:"startedAt,omitempty"`
	FinishedAt *time.Time           `json:"finishedAt,omitempty"`
	CheckedAt  *time.Time           `json:"checkedAt,omitempty" doc:"When the source was last checked for changes"`
	NextCheck  time.Time            `json:"nextCheckAt"`
	Requested  bool                 `json:"rebuildRequested" doc:"A rebuild was asked for and has not run yet"`
	Replica    string               `json:"replica,omitempty" doc:"The replica holding the entity's build lease, while one does"`
}

func toDocsBuildJSON(b tdservice.Build, now time.Time) docsBuildJSON {
	out := docsBuildJSON{EntityRef: b.EntityRef, State: b.State, Error: b.Error, Etag: b.Etag, SourceHash: b.SourceHash,
		StartedAt: b.StartedAt, FinishedAt: b.FinishedAt, CheckedAt: b.CheckedAt, NextCheck: b.NextCheckAt, Requested: b.Force,
		Warnings: make([]docsDiagnosticJSON, 0, len(b.Warnings))}
	for _, w := range b.Warnings {
		out.Warnings = append(out.Warnings, docsDiagnosticJSON{File: w.File, Line: w.Line, Message: w.Message})
	}
	if b.LeaseUntil != nil && b.LeaseUntil.After(now) {
		out.Replica = b.LeaseOwner
	}
	return out
}

type docsStatusInput struct {
	Entity string `query:"entity" doc:"One entity's build, by ref (component:default/portal); all builds when absent"`
}

type docsStatusOutput struct {
	Body struct {
		Items []docsBuildJSON `json:"items"`
	}
}

type docsBuildOutput struct {
	Body docsBuildJSON
}

// metadataEntityDoc documents /metadata/entity: the entity with where its docs come from.
type metadataEntityDoc struct {
	APIVersion       string                `json:"apiVersion"`
	Kind             string                `json:"kind"`
	Metadata         map[string]any        `json:"metadata"`
	Spec             map[string]any        `json:"spec,omitempty"`
	LocationMetadata *locationMetadataJSON `json:"locationMetadata,omitempty"`
}

// techDocsMetadataDoc documents techdocs_metadata.json.
type techDocsMetadataDoc struct {
	SiteName        string   `json:"site_name"`
	SiteDescription string   `json:"site_description"`
	Etag            string   `json:"etag"`
	BuildTimestamp  int64    `json:"build_timestamp"`
	Files           []string `json:"files,omitempty"`
}

func (s *Server) registerTechDocs() {
	svc := s.opts.TechDocs

	meta := s.techDocsOp("getTechDocsMetadata", http.MethodGet, "/metadata/techdocs/{namespace}/{kind}/{name}",
		"Get an entity's techdocs_metadata.json")
	documentJSON(s.api, &meta, techDocsMetadataDoc{}, "The published site's metadata")
	huma.Register(s.api, meta, func(ctx context.Context, in *docsEntityInput) (*rawOutput, error) {
		b, err := svc.Metadata(ctx, in.ref())
		if err != nil {
			return nil, backstageErr(ctx, err)
		}
		return rawJSON(b), nil
	})

	entity := s.techDocsOp("getTechDocsEntityMetadata", http.MethodGet, "/metadata/entity/{namespace}/{kind}/{name}",
		"Get an entity and where its docs come from")
	documentJSON(s.api, &entity, metadataEntityDoc{}, "The entity, with locationMetadata")
	huma.Register(s.api, entity, func(ctx context.Context, in *docsEntityInput) (*rawOutput, error) {
		raw, loc, err := svc.EntityMetadata(ctx, in.ref())
		if err != nil {
			return nil, backstageErr(ctx, err)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, backstageErr(ctx, errs.Wrap(errs.Internal, err, "stored entity is not a JSON object"))
		}
		if loc != nil {
			b, _ := json.Marshal(locationMetadataJSON{Type: loc.Type, Target: loc.Target})
			fields["locationMetadata"] = b
		}
		b, err := json.Marshal(fields)
		if err != nil {
			return nil, backstageErr(ctx, errs.Wrap(errs.Internal, err, "cannot encode the entity"))
		}
		return rawJSON(b), nil
	})

	static := s.techDocsOp("getTechDocsFile", http.MethodGet, "/static/docs/{namespace}/{kind}/{name}/{path...}",
		"Get a file of an entity's published docs")
	static.Description = "HTML, SVG and the other formats a browser would run are served as text/plain, as Backstage " +
		"serves them: the reader fetches and sanitizes them itself, and no link can make the portal's origin run a page. " +
		"Every file carries X-Content-Type-Options: nosniff and a sandboxing Content-Security-Policy."
	static.Responses = map[string]*huma.Response{"200": {Description: "The file",
		Content: map[string]*huma.MediaType{"application/octet-stream": {}, "text/plain": {}}}}
	huma.Register(s.api, static, func(ctx context.Context, in *docsFileInput) (*docsFileOutput, error) {
		r, ct, err := svc.Open(ctx, in.ref(), in.Path)
		if err != nil {
			return nil, backstageErr(ctx, err)
		}
		out := &docsFileOutput{ContentType: ct, NoSniff: "nosniff", CSP: docsContentSecurityPolicy,
			CacheControl: "no-cache", ReferrerPolicy: "no-referrer"}
		if st, ok := r.(interface{ Stat() (fs.FileInfo, error) }); ok {
			if info, err := st.Stat(); err == nil {
				out.ContentLength = strconv.FormatInt(info.Size(), 10)
			}
		}
		out.Body = func(hc huma.Context) {
			defer r.Close()
			hc.SetStatus(http.StatusOK)
			_, _ = io.Copy(hc.BodyWriter(), r)
		}
		return out, nil
	})
	// The OpenAPI path names the parameter as OpenAPI spells it; {path...} is Go's routing syntax.
	if item, ok := s.api.OpenAPI().Paths[static.Path]; ok {
		delete(s.api.OpenAPI().Paths, static.Path)
		s.api.OpenAPI().Paths["/api/techdocs/static/docs/{namespace}/{kind}/{name}/{path}"] = item
	}

	syncOp := s.techDocsOp("syncTechDocs", http.MethodGet, "/sync/{namespace}/{kind}/{name}",
		"Bring an entity's docs up to date (server-sent events)")
	syncOp.Description = "Checks the docs source and builds and publishes the docs when it changed, streaming " +
		"`event: log` (data: a JSON string), then `event: finish` (data: {\"updated\": true|false}) or `event: error` " +
		"(data: a JSON string). Checks are made at most once a minute per entity; visitors of an entity being built " +
		"follow that build."
	syncOp.Responses = map[string]*huma.Response{"200": {Description: "An event stream",
		Content: map[string]*huma.MediaType{"text/event-stream": {}}}}
	huma.Register(s.api, syncOp, func(ctx context.Context, in *docsEntityInput) (*ofrepOutput, error) {
		ref := in.ref()
		// A missing entity is a 404 in Backstage's body, before any event; every other problem
		// (no annotation, an unreadable source) is reported on the stream, as Backstage does.
		if _, _, err := svc.EntityMetadata(ctx, ref); errs.Is(err, errs.NotFound) {
			return nil, backstageErr(ctx, err)
		}
		return &ofrepOutput{Body: func(hc huma.Context) { s.streamSync(hc, svc, ref) }}, nil
	})

	status := s.techDocsOp("getTechDocsStatus", http.MethodGet, "/status", "List docs builds and their state")
	huma.Register(s.api, status, func(ctx context.Context, in *docsStatusInput) (*docsStatusOutput, error) {
		var ref *catalog.Ref
		if in.Entity != "" {
			r, err := catalog.ParseRef(in.Entity, catalog.RefDefaults{})
			if err != nil {
				return nil, backstageErr(ctx, err)
			}
			ref = &r
		}
		builds, err := svc.Status(ctx, ref)
		if err != nil {
			return nil, backstageErr(ctx, err)
		}
		out := &docsStatusOutput{}
		out.Body.Items = make([]docsBuildJSON, 0, len(builds))
		now := time.Now()
		for _, b := range builds {
			out.Body.Items = append(out.Body.Items, toDocsBuildJSON(b, now))
		}
		return out, nil
	})

	build := s.techDocsOp("buildTechDocs", http.MethodPost, "/build/{namespace}/{kind}/{name}",
		"Rebuild an entity's docs now, even if the source is unchanged")
	build.DefaultStatus = http.StatusAccepted
	build.Errors = append(build.Errors, http.StatusForbidden)
	huma.Register(s.api, build, func(ctx context.Context, in *docsEntityInput) (*docsBuildOutput, error) {
		b, err := svc.RequestBuild(ctx, in.ref())
		if err != nil {
			return nil, backstageErr(ctx, err)
		}
		return &docsBuildOutput{Body: toDocsBuildJSON(b, time.Now())}, nil
	})
}

// streamSync runs a sync and writes its events as Backstage's /sync stream does.
func (s *Server) streamSync(hc huma.Context, svc *tdservice.Service, ref catalog.Ref) {
	ctx, cancel := context.WithCancel(hc.Context())
	defer cancel()
	stop := context.AfterFunc(s.streams, cancel)
	defer stop()
	events := make(chan tdservice.SyncEvent, 64)
	done := make(chan error, 1)
	go func() {
		done <- svc.Sync(ctx, ref, func(ev tdservice.SyncEvent) {
			select {
			case events <- ev:
			case <-ctx.Done():
			}
		})
		close(events)
	}()
	w := startSSE(hc)
	write := func(event string, data any) bool {
		b, _ := json.Marshal(data)
		_, err := w.WriteString("event: " + event + "\ndata: " + string(b) + "\n\n")
		return err == nil && w.Flush() == nil
	}
	ping := time.NewTicker(sseKeepAlive)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				if err := <-done; err != nil && ctx.Err() == nil {
					write("error", errs.MessageOf(err))
				}
				return
			}
			switch ev.Type {
			case "finish":
				write("finish", map[string]bool{"updated": ev.Updated})
			case "error":
				write("error", ev.Message)
			default:
				if !write("log", ev.Message) {
					return
				}
			}
		case <-ping.C:
			if _, err := w.WriteString(": keep-alive\n\n"); err != nil || w.Flush() != nil {
				return
			}
		}
	}
}
