package scaffolder

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"strings"
	"sync"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
	"github.com/billpay/portal/internal/scaffolder/workspace"
)

// SerializedFile is a file of a dry run's template or result: Backstage's {path, base64Content,
// executable} (Content is base64 in JSON through encoding/json's []byte rule).
type SerializedFile struct {
	Path       string `json:"path"`
	Content    []byte `json:"base64Content"`
	Executable bool   `json:"executable"`
}

// DryRunRequest is the body of POST /v2/dry-run, parsed.
type DryRunRequest struct {
	Template *Template
	Values   *nunjucks.Object
	Secrets  map[string]string
	// DirectoryContents are the template's own files (skeletons), which relative fetch URLs read.
	DirectoryContents []SerializedFile
	User              UserInfo
	// CreatedBy is who asks for the dry run, for actions that act on their behalf.
	CreatedBy string
	// MayUse judges actions that declare a Permission, as CreateTaskRequest.MayUse does.
	MayUse func(permission string) error
}

// LogEntry is one line of a dry run's log: {body: {message, stepId?, status?}}.
type LogEntry struct {
	Body EventBody `json:"body"`
}

// DryRunStep echoes a template step in the dry-run response.
type DryRunStep struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Action string `json:"action"`
}

// DryRunResult is what a dry run produced.
type DryRunResult struct {
	Log               []LogEntry       `json:"log"`
	DirectoryContents []SerializedFile `json:"directoryContents"`
	Output            *nunjucks.Object `json:"output"`
	Steps             []DryRunStep     `json:"steps"`
	// Status and Err say how the run ended; a failed run still returns its log and files.
	Status TaskStatus `json:"-"`
	Err    error      `json:"-"`
}

// DryRun runs a template in a throw-away workspace with DryRun set: actions that support it run
// (fetching and templating files into the workspace), the others are skipped with example outputs.
// It returns the files the run produced and its log. Values that fail the template's parameter
// schema return ValidationErrors (Backstage's 400 {errors}); a step that fails gives a result with
// Status failed.
func (r *Runner) DryRun(ctx context.Context, req DryRunRequest) (*DryRunResult, error) {
	if req.Template == nil {
		return nil, errs.E(errs.Invalid, "template is required")
	}
	if verrs := req.Template.ValidateValues(req.Values); len(verrs) > 0 {
		return nil, verrs
	}
	id := randomID()
	contents, err := workspace.Create(r.WorkDir, "portal-dry-run-content-")
	if err != nil {
		return nil, err
	}
	defer contents.RemoveAll()
	for _, f := range req.DirectoryContents {
		mode := 0o644
		if f.Executable {
			mode = 0o755
		}
		if err := contents.WriteFile(f.Path, f.Content, fsMode(mode)); err != nil {
			return nil, errs.Wrap(errs.Invalid, err, "directoryContents: %v", err)
		}
	}
	ws, err := workspace.Create(r.WorkDir, "portal-dry-run-")
	if err != nil {
		return nil, err
	}
	defer ws.RemoveAll()

	baseURL := (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(contents.Path(), "template.yaml"))}).String()
	spec := req.Template.NewTaskSpec(req.Values, req.User, baseURL)
	spec.TemplateInfo.EntityRef = "template:default/dry-run"

	res := &DryRunResult{Log: []LogEntry{}, DirectoryContents: []SerializedFile{}}
	var mu sync.Mutex
	first := true
	sink := EventSinkFunc(func(_ context.Context, e Event) error {
		mu.Lock()
		defer mu.Unlock()
		if first && e.Body.StepID == "" && strings.HasPrefix(e.Body.Message, "Starting up task with ") {
			// Backstage appends a hidden step that collects the files, and counts it here.
			e.Body.Message = fmt.Sprintf("Starting up task with %d steps", len(spec.Steps)+1)
		}
		first = false
		res.Log = append(res.Log, LogEntry{Body: e.Body})
		return nil
	})
	result := r.Run(ctx, RunRequest{
		TaskID: "dry-run-" + id, CreatedBy: req.CreatedBy, Spec: spec, Secrets: req.Secrets, DryRun: true, Sink: sink,
		Workspace: ws, Files: DirFiles(contents.Path()),
	})
	res.Status, res.Err, res.Output = result.Status, result.Err, result.Output
	for _, s := range spec.Steps {
		res.Steps = append(res.Steps, DryRunStep{ID: s.ID, Name: s.Name, Action: s.Action})
	}
	files, err := SerializeWorkspace(ws)
	if err != nil {
		return nil, err
	}
	res.DirectoryContents = files
	return res, nil
}

// SerializeWorkspace reads every regular file of a workspace (symbolic links and .git excluded),
// sorted by path.
func SerializeWorkspace(ws *workspace.Dir) ([]SerializedFile, error) {
	files, err := ws.Walk(".", workspace.WalkOptions{})
	if err != nil {
		return nil, err
	}
	out := []SerializedFile{}
	for _, f := range files {
		if f.LinkTarget != "" {
			continue
		}
		data, err := ws.ReadFile(f.Path)
		if err != nil {
			return nil, err
		}
		out = append(out, SerializedFile{Path: f.Path, Content: data, Executable: f.Executable()})
	}
	return out, nil
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func fsMode(m int) fs.FileMode { return fs.FileMode(m) }
