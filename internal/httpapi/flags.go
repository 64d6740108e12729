package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/billpay/portal/internal/audit"
	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/flags"
	flagservice "github.com/billpay/portal/internal/flags/service"
)

const flagsTag = "Feature flags"

// portalErr turns a domain error into huma's problem+json with the right status; internal details never leak.
func portalErr(err error) error {
	status := statusOf(errs.CodeOf(err))
	if status == http.StatusInternalServerError {
		return huma.Error500InternalServerError("internal error")
	}
	return huma.NewError(status, errs.MessageOf(err))
}

func (s *Server) flagsOp(id, method, path, summary string, mutating bool) huma.Operation {
	return s.operation(flagsTag, id, method, "/api/flags"+path, summary, mutating,
		http.StatusForbidden, http.StatusConflict, http.StatusPreconditionFailed)
}

// flagDoc is a stored flag as the management API shows it.
type flagDoc struct {
	Environment string          `json:"environment" example:"production"`
	Key         string          `json:"key" example:"new-checkout"`
	Definition  json.RawMessage `json:"definition" doc:"The flagd flag definition (state, variants, defaultVariant, targeting, metadata)"`
	Owner       string          `json:"owner,omitempty" doc:"Entity ref from metadata.owner" example:"group:default/payments-team"`
	ETag        string          `json:"etag" doc:"Send it back in If-Match to change the flag only if nobody else has"`
	Revision    int64           `json:"revision"`
	CreatedAt   time.Time       `json:"createdAt"`
	UpdatedAt   time.Time       `json:"updatedAt"`
	UpdatedBy   string          `json:"updatedBy"`
}

func toFlagDoc(f flagservice.Flag) flagDoc {
	return flagDoc{Environment: f.Environment, Key: f.Key, Definition: f.Definition, Owner: f.Owner, ETag: f.ETag,
		Revision: f.Revision, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt, UpdatedBy: f.UpdatedBy}
}

type flagOutput struct {
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Status   int
	Body     flagDoc
}

func flagOut(f flagservice.Flag, status int) *flagOutput {
	return &flagOutput{ETag: f.ETag, Status: status, Body: toFlagDoc(f)}
}

type EnvPath struct {
	Environment string `path:"environment" example:"dev"`
}

type FlagPath struct {
	Environment string `path:"environment" example:"dev"`
	Key         string `path:"key" example:"new-checkout"`
}

type PreconditionHeaders struct {
	IfMatch     string `header:"If-Match" doc:"Only change the flag if its ETag is still this one"`
	IfNoneMatch string `header:"If-None-Match" doc:"* creates the flag only if it does not exist yet"`
}

func (p PreconditionHeaders) pre() flagservice.Precondition {
	return flagservice.Precondition{IfMatch: p.IfMatch, IfNoneMatch: p.IfNoneMatch}
}

func principal(ctx context.Context) auth.Principal {
	p, _ := PrincipalFrom(ctx)
	return p
}

func flagResource(env, key string) string { return "flag:" + env + "/" + key }

type auditDoc struct {
	Items []flags.AuditEntry `json:"items"`
	// Next pages further back in time.
	Next string `json:"next,omitempty" doc:"Pass as before= to read older entries"`
}

type AuditInput struct {
	Before int64 `query:"before" minimum:"0" doc:"Only entries older than this entry ID"`
	Limit  int   `query:"limit" minimum:"1" maximum:"1000" default:"100"`
}

func (s *Server) registerFlags() {
	svc := s.opts.Flags
	huma.Register(s.api, s.flagsOp("listFlagEnvironments", http.MethodGet, "/environments", "List flag environments", false),
		func(ctx context.Context, _ *struct{}) (*struct{ Body []flagservice.EnvironmentInfo }, error) {
			return &struct{ Body []flagservice.EnvironmentInfo }{Body: svc.Environments()}, nil
		})
	huma.Register(s.api, s.flagsOp("listFlags", http.MethodGet, "/environments/{environment}/flags", "List an environment's flags", false),
		func(ctx context.Context, in *struct {
			EnvPath
			Owner string `query:"owner" doc:"Only flags whose metadata.owner is this entity ref" example:"group:default/payments-team"`
		}) (*struct{ Body struct{ Items []flagDoc } }, error) {
			list, err := svc.List(in.Environment, in.Owner)
			if err != nil {
				return nil, portalErr(err)
			}
			out := &struct{ Body struct{ Items []flagDoc } }{}
			out.Body.Items = make([]flagDoc, len(list))
			for i, f := range list {
				out.Body.Items[i] = toFlagDoc(f)
			}
			return out, nil
		})
	huma.Register(s.api, s.flagsOp("getFlag", http.MethodGet, "/environments/{environment}/flags/{key}", "Get a flag", false),
		func(ctx context.Context, in *FlagPath) (*flagOutput, error) {
			f, err := svc.Get(in.Environment, in.Key)
			if err != nil {
				return nil, portalErr(err)
			}
			return flagOut(f, http.StatusOK), nil
		})
	put := s.flagsOp("putFlag", http.MethodPut, "/environments/{environment}/flags/{key}", "Create or replace a flag", true)
	put.Description = "The body is a flagd flag definition. The environment is validated as a whole with it in place; " +
		"problems name the flag and field. Send If-Match with the ETag you read to avoid overwriting someone else's change, " +
		"or If-None-Match: * to create only. metadata.owner may name the owning Group or Component."
	huma.Register(s.api, put, func(ctx context.Context, in *struct {
		FlagPath
		PreconditionHeaders
		Body map[string]any `doc:"flagd flag definition"`
	}) (*flagOutput, error) {
		raw, _ := json.Marshal(in.Body)
		before, _ := svc.Get(in.Environment, in.Key)
		f, created, err := svc.Put(ctx, principal(ctx), in.Environment, in.Key, raw, in.pre())
		if err != nil {
			return nil, portalErr(err)
		}
		audit.Describe(ctx, flagResource(in.Environment, in.Key), before.Definition, f.Definition)
		if created {
			out := flagOut(f, http.StatusCreated)
			out.Location = fmt.Sprintf("/api/flags/environments/%s/flags/%s", in.Environment, in.Key)
			return out, nil
		}
		return flagOut(f, http.StatusOK), nil
	})
	del := s.flagsOp("deleteFlag", http.MethodDelete, "/environments/{environment}/flags/{key}", "Delete a flag", true)
	del.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, del, func(ctx context.Context, in *struct {
		FlagPath
		PreconditionHeaders
	}) (*struct{}, error) {
		before, _ := svc.Get(in.Environment, in.Key)
		if err := svc.Delete(ctx, principal(ctx), in.Environment, in.Key, in.pre()); err != nil {
			return nil, portalErr(err)
		}
		audit.Describe(ctx, flagResource(in.Environment, in.Key), before.Definition, nil)
		return &struct{}{}, nil
	})
	for _, enable := range []bool{true, false} {
		name, verb := "enableFlag", "enable"
		if !enable {
			name, verb = "disableFlag", "disable"
		}
		op := s.flagsOp(name, http.MethodPost, "/environments/{environment}/flags/{key}/"+verb, strings.ToUpper(verb[:1])+verb[1:]+" a flag", true)
		huma.Register(s.api, op, func(ctx context.Context, in *struct {
			FlagPath
			PreconditionHeaders
		}) (*flagOutput, error) {
			before, _ := svc.Get(in.Environment, in.Key)
			f, err := svc.SetState(ctx, principal(ctx), in.Environment, in.Key, enable, in.pre())
			if err != nil {
				return nil, portalErr(err)
			}
			audit.Describe(ctx, flagResource(in.Environment, in.Key), before.Definition, f.Definition)
			return flagOut(f, http.StatusOK), nil
		})
	}
	cp := s.flagsOp("copyFlag", http.MethodPost, "/environments/{environment}/flags/{key}/copy", "Copy (promote) a flag to another environment", true)
	cp.Description = "Creates or replaces the flag in the target environment with this environment's definition. " +
		"If-Match and If-None-Match apply to the flag in the target environment."
	huma.Register(s.api, cp, func(ctx context.Context, in *struct {
		FlagPath
		PreconditionHeaders
		Body struct {
			To string `json:"to" example:"staging" doc:"Target environment"`
		}
	}) (*flagOutput, error) {
		before, _ := svc.Get(in.Body.To, in.Key)
		f, created, err := svc.Copy(ctx, principal(ctx), in.Environment, in.Body.To, in.Key, in.pre())
		if err != nil {
			return nil, portalErr(err)
		}
		audit.Describe(ctx, flagResource(in.Body.To, in.Key), before.Definition, f.Definition)
		if created {
			return flagOut(f, http.StatusCreated), nil
		}
		return flagOut(f, http.StatusOK), nil
	})
	export := s.flagsOp("exportFlags", http.MethodGet, "/environments/{environment}/export", "Export an environment as flagd JSON", false)
	documentJSON(s.api, &export, map[string]any{}, "A flagd flag set document")
	huma.Register(s.api, export, func(ctx context.Context, in *EnvPath) (*rawOutput, error) {
		doc, err := svc.Export(in.Environment)
		if err != nil {
			return nil, portalErr(err)
		}
		return rawJSON(doc), nil
	})
	imp := s.flagsOp("importFlags", http.MethodPost, "/environments/{environment}/import", "Import flagd JSON into an environment", true)
	imp.Description = "Validates the whole document first; either every flag is stored or none is. mode=replace (the " +
		"default) deletes flags the document does not contain; mode=merge keeps them."
	documentJSON(s.api, &imp, flagservice.ImportResult{}, "What the import changed")
	huma.Register(s.api, imp, func(ctx context.Context, in *struct {
		EnvPath
		Mode string `query:"mode" enum:"replace,merge" default:"replace"`
	}) (*ofrepOutput, error) {
		// The document is read here, as bytes: decoding it into Go values first would lose what flagd keeps
		// (large integers, key order in error messages).
		env, mode := in.Environment, flagservice.ImportMode(in.Mode)
		return &ofrepOutput{Body: func(hc huma.Context) {
			data, err := io.ReadAll(io.LimitReader(hc.BodyReader(), s.opts.MaxBodyBytes+1))
			switch {
			case err != nil:
				err = errs.E(errs.Invalid, "cannot read the request body: %v", err)
			case int64(len(data)) > s.opts.MaxBodyBytes:
				_ = huma.WriteErr(s.api, hc, http.StatusRequestEntityTooLarge, fmt.Sprintf("the document is larger than %d bytes", s.opts.MaxBodyBytes))
				return
			}
			var res flagservice.ImportResult
			if err == nil {
				res, err = svc.Import(ctx, principal(ctx), env, data, mode)
				audit.Describe(ctx, "flags:"+env, nil, res)
			}
			if err != nil {
				se := portalErr(err).(huma.StatusError)
				_ = huma.WriteErr(s.api, hc, se.GetStatus(), se.Error())
				return
			}
			writeOFREP(hc, http.StatusOK, res)
		}}, nil
	})
	documentRequest(s.api, imp.Method, imp.Path, map[string]any{})
	huma.Register(s.api, s.flagsOp("environmentAudit", http.MethodGet, "/environments/{environment}/audit", "Read an environment's audit log", false),
		func(ctx context.Context, in *struct {
			EnvPath
			AuditInput
		}) (*struct{ Body auditDoc }, error) {
			return auditPage(ctx, svc, flags.AuditQuery{Environment: in.Environment, BeforeID: in.Before, Limit: in.Limit})
		})
	huma.Register(s.api, s.flagsOp("flagAudit", http.MethodGet, "/environments/{environment}/flags/{key}/audit", "Read a flag's audit log", false),
		func(ctx context.Context, in *struct {
			FlagPath
			AuditInput
		}) (*struct{ Body auditDoc }, error) {
			return auditPage(ctx, svc, flags.AuditQuery{Environment: in.Environment, FlagKey: in.Key, BeforeID: in.Before, Limit: in.Limit})
		})
	events := s.flagsOp("flagEvents", http.MethodGet, "/events", "Follow flag changes (server-sent events)", false)
	events.Description = "Each committed change sends `event: change` whose data is {environment, version, configEtag, " +
		"entries} with the audit entries of the change; the event id is the last entry's ID, so a client that " +
		"reconnects with Last-Event-ID receives what it missed."
	events.Responses = map[string]*huma.Response{"200": {Description: "An event stream",
		Content: map[string]*huma.MediaType{"text/event-stream": {}}}}
	huma.Register(s.api, events, func(ctx context.Context, in *struct {
		Environment string `query:"environment" doc:"Only this environment's changes"`
		LastEventID string `header:"Last-Event-ID"`
	}) (*ofrepOutput, error) {
		if in.Environment != "" {
			if _, err := svc.Environment(in.Environment); err != nil {
				return nil, portalErr(err)
			}
		}
		env, last := in.Environment, in.LastEventID
		return &ofrepOutput{Body: func(hc huma.Context) { s.flagEvents(hc, env, last) }}, nil
	})
}

func auditPage(ctx context.Context, svc *flagservice.Service, q flags.AuditQuery) (*struct{ Body auditDoc }, error) {
	if q.Limit == 0 {
		q.Limit = 100
	}
	items, err := svc.Audit(ctx, q)
	if err != nil {
		return nil, portalErr(err)
	}
	out := &struct{ Body auditDoc }{Body: auditDoc{Items: items}}
	if len(items) == q.Limit {
		out.Body.Next = strconv.FormatInt(items[len(items)-1].ID, 10)
	}
	return out, nil
}

type changeEvent struct {
	Environment string             `json:"environment"`
	Version     int64              `json:"version"`
	ConfigETag  string             `json:"configEtag"`
	Entries     []flags.AuditEntry `json:"entries"`
}

// replayLimit bounds what one reconnect replays; a client further behind should re-read the flags.
const replayLimit = 1000

func (s *Server) flagEvents(hc huma.Context, environment, lastEventID string) {
	svc := s.opts.Flags
	events, cancel := svc.Subscribe(environment)
	defer cancel()
	w := startSSE(hc)
	send := func(ev changeEvent) bool {
		if len(ev.Entries) == 0 {
			return true
		}
		data, _ := json.Marshal(ev)
		fmt.Fprintf(w, "id: %d\nevent: change\ndata: %s\n\n", ev.Entries[len(ev.Entries)-1].ID, data)
		return w.Flush() == nil
	}
	// Replay first, then skip live events already replayed: the subscription was opened before reading the log,
	// so nothing falls between the two.
	var replayedUpTo int64
	if last, err := strconv.ParseInt(lastEventID, 10, 64); err == nil {
		entries, err := svc.AuditAfter(hc.Context(), last, replayLimit)
		if err != nil {
			return
		}
		for _, group := range groupEntries(entries, environment) {
			if !send(group) {
				return
			}
		}
		if n := len(entries); n > 0 {
			replayedUpTo = entries[n-1].ID
		}
	}
	s.pumpSSE(hc.Context(), w, events, func(ev flagservice.Event) bool {
		var fresh []flags.AuditEntry
		for _, e := range ev.Entries {
			if e.ID > replayedUpTo {
				fresh = append(fresh, e)
			}
		}
		return send(changeEvent{Environment: ev.Environment, Version: ev.Version, ConfigETag: ev.ConfigETag, Entries: fresh})
	})
}

// groupEntries turns replayed audit entries back into one event per environment version.
func groupEntries(entries []flags.AuditEntry, environment string) []changeEvent {
	var out []changeEvent
	for _, e := range entries {
		if environment != "" && e.Environment != environment {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Environment == e.Environment && out[n-1].Version == e.Version {
			out[n-1].Entries = append(out[n-1].Entries, e)
			continue
		}
		out = append(out, changeEvent{Environment: e.Environment, Version: e.Version, Entries: []flags.AuditEntry{e}})
	}
	return out
}
