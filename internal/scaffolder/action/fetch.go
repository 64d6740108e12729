package action

import (
	"bytes"
	"context"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
	"github.com/billpay/portal/internal/scaffolder/workspace"
)

// templateTree fetches the directory at url (relative to the template) into a temporary directory the
// caller removes.
func templateTree(ctx context.Context, ac *scaffolder.ActionContext, url string) (*workspace.Dir, error) {
	if ac.Files == nil {
		return nil, errs.E(errs.Invalid, "this task has no template location to fetch %q from", url)
	}
	rel, err := scaffolder.ResolveTemplatePath(ac.TemplateInfo.BaseURL, url)
	if err != nil {
		return nil, err
	}
	tmp, err := workspace.Create("", "portal-fetch-")
	if err != nil {
		return nil, err
	}
	if err := ac.Files.ReadTree(ctx, rel, tmp); err != nil {
		_ = tmp.RemoveAll()
		return nil, err
	}
	return tmp, nil
}

func templateFile(ctx context.Context, ac *scaffolder.ActionContext, url string) ([]byte, error) {
	if ac.Files == nil {
		return nil, errs.E(errs.Invalid, "this task has no template location to fetch %q from", url)
	}
	rel, err := scaffolder.ResolveTemplatePath(ac.TemplateInfo.BaseURL, url)
	if err != nil {
		return nil, err
	}
	return ac.Files.ReadFile(ctx, rel)
}

// targetDir returns the workspace subdirectory targetPath names ("./" by default), created if needed.
func targetDir(ac *scaffolder.ActionContext, targetPath string) (*workspace.Dir, error) {
	if targetPath == "" {
		targetPath = "./"
	}
	return ac.Workspace.Sub(targetPath)
}

func fetchPlain() scaffolder.Action {
	const id = "fetch:plain"
	return &simple{
		info: scaffolder.ActionInfo{
			ID:          id,
			Description: "Downloads content and places it in the workspace, or optionally in a subdirectory specified by the `targetPath` input option.",
			Examples:    []scaffolder.ActionExample{{Description: "Downloads content and places it in the workspace.", Example: "steps:\n  - action: fetch:plain\n    id: fetch-plain\n    name: Fetch plain\n    input:\n      url: ./plain\n"}},
			Input: schema(id, "input", `{"type": "object", "required": ["url"], "additionalProperties": false, "properties": {
				"url": {"type": "string", "title": "Fetch URL", "description": "Relative path or absolute URL pointing to the directory tree to fetch"},
				"targetPath": {"type": "string", "title": "Target Path", "description": "Target path within the working directory to download the contents to."},
				"token": {"type": "string", "title": "Token", "description": "An optional token to use for authentication when reading the resources."}}}`),
			Output:         schema(id, "output", emptyOutput),
			SupportsDryRun: true,
		},
		run: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in struct {
				URL        string `json:"url"`
				TargetPath string `json:"targetPath"`
			}
			if err := ac.DecodeInput(&in); err != nil {
				return err
			}
			ac.Log("Fetching plain content from remote URL")
			tmp, err := templateTree(ctx, ac, in.URL)
			if err != nil {
				return err
			}
			defer tmp.RemoveAll()
			dst, err := targetDir(ac, in.TargetPath)
			if err != nil {
				return err
			}
			defer dst.Close()
			files, err := tmp.Walk(".", workspace.WalkOptions{Dirs: true})
			if err != nil {
				return err
			}
			return scaffolder.CopyFiles(ctx, tmp, ".", files, dst)
		},
	}
}

func fetchPlainFile() scaffolder.Action {
	const id = "fetch:plain:file"
	return &simple{
		info: scaffolder.ActionInfo{
			ID:          id,
			Description: "Downloads single file and places it in the workspace.",
			Examples:    []scaffolder.ActionExample{{Description: "Downloads a single file.", Example: "steps:\n  - action: fetch:plain:file\n    id: fetch-plain-file\n    input:\n      url: ./LICENSE\n      targetPath: LICENSE\n"}},
			Input: schema(id, "input", `{"type": "object", "required": ["url", "targetPath"], "additionalProperties": false, "properties": {
				"url": {"type": "string", "title": "Fetch URL", "description": "Relative path or absolute URL pointing to the single file to fetch."},
				"targetPath": {"type": "string", "title": "Target Path", "description": "Target path within the working directory to download the file as."},
				"token": {"type": "string", "title": "Token", "description": "An optional token to use for authentication when reading the resources."}}}`),
			Output:         schema(id, "output", emptyOutput),
			SupportsDryRun: true,
		},
		run: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in struct {
				URL        string `json:"url"`
				TargetPath string `json:"targetPath"`
			}
			if err := ac.DecodeInput(&in); err != nil {
				return err
			}
			ac.Log("Fetching plain content from remote URL")
			data, err := templateFile(ctx, ac, in.URL)
			if err != nil {
				return err
			}
			return ac.Workspace.WriteFile(in.TargetPath, data, 0o644)
		},
	}
}

type fetchTemplateInput struct {
	URL                   string   `json:"url"`
	TargetPath            string   `json:"targetPath"`
	Values                any      `json:"values"`
	CopyWithoutRender     []string `json:"copyWithoutRender"`
	CopyWithoutTemplating []string `json:"copyWithoutTemplating"`
	CookiecutterCompat    bool     `json:"cookiecutterCompat"`
	TemplateFileExtension any      `json:"templateFileExtension"`
	Replace               bool     `json:"replace"`
	TrimBlocks            bool     `json:"trimBlocks"`
	LstripBlocks          bool     `json:"lstripBlocks"`
}

const fetchTemplateInputSchema = `{"type": "object", "required": ["url"], "additionalProperties": false, "properties": {
	"url": {"type": "string", "title": "Fetch URL", "description": "Relative path or absolute URL pointing to the directory tree to fetch"},
	"targetPath": {"type": "string", "title": "Target Path", "description": "Target path within the working directory to download the contents to. Defaults to the working directory root."},
	"values": {"type": "object", "title": "Template Values", "description": "Values to pass on to the templating engine"},
	"copyWithoutRender": {"type": "array", "items": {"type": "string"}, "title": "[Deprecated] Copy Without Render", "description": "An array of glob patterns. Any files or directories which match are copied without being processed as templates."},
	"copyWithoutTemplating": {"type": "array", "items": {"type": "string"}, "title": "Copy Without Templating", "description": "An array of glob patterns. Contents of matched files or directories are copied without being processed, but paths are subject to rendering."},
	"cookiecutterCompat": {"type": "boolean", "title": "Cookiecutter compatibility mode", "description": "Enable features to maximise compatibility with templates built for fetch:cookiecutter"},
	"templateFileExtension": {"type": ["string", "boolean"], "title": "Template File Extension", "description": "If set, only files with the given extension will be templated. If set to true, the default extension .njk is used."},
	"replace": {"type": "boolean", "title": "Replace files", "description": "If set, replace files in targetPath instead of skipping existing ones."},
	"trimBlocks": {"type": "boolean", "title": "Trim Blocks", "description": "If set, the first newline after a block is removed (block, not variable tag!)."},
	"lstripBlocks": {"type": "boolean", "title": "Lstrip Blocks", "description": "If set, leading spaces and tabs are stripped from the start of a line to a block."},
	"token": {"type": "string", "title": "Token", "description": "An optional token to use for authentication when reading the resources."}}}`

func fetchTemplate(opts Options) scaffolder.Action {
	const id = "fetch:template"
	return &simple{
		info: scaffolder.ActionInfo{
			ID:             id,
			Description:    "Downloads a skeleton, templates variables into file and directory names and content, and places the result in the workspace, or optionally in a subdirectory specified by the `targetPath` input option.",
			Examples:       []scaffolder.ActionExample{{Description: "Downloads a skeleton directory that lives alongside the template file and fills it out with the values.", Example: "steps:\n  - action: fetch:template\n    id: fetch-template\n    input:\n      url: ./skeleton\n      targetPath: ./target\n      values:\n        name: test-project\n        count: 1234\n        itemList:\n          - first\n          - second\n"}},
			Input:          schema(id, "input", fetchTemplateInputSchema),
			Output:         schema(id, "output", emptyOutput),
			SupportsDryRun: true,
		},
		run: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			return runFetchTemplate(ctx, ac, opts)
		},
	}
}

func templateValues(ac *scaffolder.ActionContext) *nunjucks.Object {
	v, _ := ac.Input.Get("values")
	o, _ := v.(*nunjucks.Object)
	if o == nil {
		o = nunjucks.NewObject(0)
	}
	return o
}

func runFetchTemplate(ctx context.Context, ac *scaffolder.ActionContext, opts Options) error {
	var in fetchTemplateInput
	if err := ac.DecodeInput(&in); err != nil {
		return err
	}
	ext := ""
	switch e := in.TemplateFileExtension.(type) {
	case bool:
		if e {
			ext = ".njk"
		}
	case string:
		ext = e
		if ext != "" && !strings.HasPrefix(ext, ".") {
			ext = "." + ext
		}
	}
	if ext != "" && (len(in.CopyWithoutRender) > 0 || len(in.CopyWithoutTemplating) > 0 || in.CookiecutterCompat) {
		return errs.E(errs.Invalid, "Fetch action input extension incompatible with copyWithoutRender/copyWithoutTemplating and cookiecutterCompat")
	}
	if len(in.CopyWithoutRender) > 0 && len(in.CopyWithoutTemplating) > 0 {
		return errs.E(errs.Invalid, "Fetch action input copyWithoutRender and copyWithoutTemplating can not be used at the same time")
	}
	if len(in.CopyWithoutRender) > 0 {
		ac.Log("[Deprecated] copyWithoutRender is deprecated Please use copyWithoutTemplating instead.")
	}
	copyOnly := in.CopyWithoutTemplating
	renderNames := true
	if len(in.CopyWithoutRender) > 0 {
		copyOnly, renderNames = in.CopyWithoutRender, false
	}

	ac.Log("Fetching template content from remote URL")
	tmp, err := templateTree(ctx, ac, in.URL)
	if err != nil {
		return err
	}
	defer tmp.RemoveAll()
	dst, err := targetDir(ac, in.TargetPath)
	if err != nil {
		return err
	}
	defer dst.Close()

	entries, err := tmp.Walk(".", workspace.WalkOptions{Dirs: true})
	if err != nil {
		return err
	}
	env := ac.Templater.SkeletonEnv(in.CookiecutterCompat, in.TrimBlocks, in.LstripBlocks)
	values := templateValues(ac)
	vars := nunjucks.ObjectOf("values", values)
	if in.CookiecutterCompat {
		vars = nunjucks.ObjectOf("cookiecutter", values)
	}
	ac.Log("Processing %d template files/directories with input values %s", len(entries), dumpOrEmpty(values))
	return renderTree(ctx, ac, renderJob{
		src: tmp, dst: dst, entries: entries, render: func(s string) (string, error) { return env.RenderString(ctx, s, vars) },
		copyOnly: copyOnly, renderNames: renderNames, ext: ext, replace: in.Replace, maxBytes: opts.MaxFileBytes,
	})
}

func dumpOrEmpty(v any) string {
	s, ok := nunjucks.Dump(v, "")
	if !ok {
		return "{}"
	}
	return s
}

type renderJob struct {
	src, dst    *workspace.Dir
	entries     []workspace.File
	render      func(string) (string, error)
	copyOnly    []string
	renderNames bool
	ext         string
	replace     bool
	maxBytes    int64
}

// skippedPath is Backstage's rule for conditional files: a name that renders to nothing, or leaves an
// empty directory name behind, means "do not write this".
func skippedPath(p string) bool {
	return p == "" || p == "/" || strings.HasPrefix(p, "/") || strings.Contains(p, "//")
}

// renderTree writes a fetched skeleton into dst: names rendered (unless copyWithoutRender matched),
// contents rendered (unless a copy-only glob matched, the file is binary or a link, or an extension
// is set and the file lacks it), existing files kept unless replace is set.
func renderTree(ctx context.Context, ac *scaffolder.ActionContext, j renderJob) error {
	for _, e := range j.entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		location := e.Path
		if e.IsDir {
			location += "/"
		}
		var renderContents bool
		out := location
		if j.ext != "" {
			renderContents = !e.IsDir && path.Ext(location) == j.ext
			if renderContents {
				out = strings.TrimSuffix(out, j.ext)
			}
			r, err := j.render(out)
			if err != nil {
				return errs.Wrap(errs.Invalid, err, "cannot render the file name %s: %v", location, err)
			}
			out = r
		} else {
			copyOnly := matchAny(j.copyOnly, e.Path) || (e.IsDir && matchAny(j.copyOnly, location))
			renderContents = !copyOnly
			if j.renderNames || !copyOnly {
				r, err := j.render(out)
				if err != nil {
					return errs.Wrap(errs.Invalid, err, "cannot render the file name %s: %v", location, err)
				}
				out = r
			}
			if copyOnly {
				ac.Log("Copying file/directory %s without processing.", location)
			}
		}
		if skippedPath(out) {
			continue
		}
		target := strings.TrimSuffix(out, "/")
		if _, err := workspace.Clean(target); err != nil {
			return errs.Wrap(errs.Forbidden, err, "the skeleton entry %s renders to %q, which is outside the target directory", location, out)
		}
		exists, err := j.dst.Exists(target)
		if err != nil {
			return err
		}
		if exists && !j.replace {
			continue
		}
		if e.IsDir {
			ac.Log("Writing directory %s to template output path.", location)
			if err := j.dst.MkdirAll(target); err != nil {
				return err
			}
			continue
		}
		if e.LinkTarget != "" {
			ac.Log("Copying file binary or symbolic link at %s, to template output path.", location)
			if exists {
				if err := j.dst.Remove(target); err != nil {
					return err
				}
			}
			if err := j.dst.Symlink(e.LinkTarget, target); err != nil {
				return err
			}
			continue
		}
		data, err := j.src.ReadFile(e.Path)
		if err != nil {
			return err
		}
		if int64(len(data)) > j.maxBytes {
			return errs.E(errs.Invalid, "skeleton file %s is %d bytes, over the %d byte limit", location, len(data), j.maxBytes)
		}
		if isBinary(data) {
			ac.Log("Copying file binary or symbolic link at %s, to template output path.", location)
		} else {
			ac.Log("Writing file %s to template output path with mode %d.", location, uint32(e.Mode.Perm())|0o100000)
			if renderContents {
				r, err := j.render(string(data))
				if err != nil {
					return errs.Wrap(errs.Invalid, err, "cannot render %s: %v", location, err)
				}
				data = []byte(r)
			}
		}
		if err := j.dst.WriteFile(target, data, e.Mode.Perm()); err != nil {
			return err
		}
	}
	ac.Log("Template result written to %s", "the workspace")
	return nil
}

// isBinary guesses as the isbinaryfile package Backstage uses does: NUL bytes or invalid UTF-8 in
// the first 8 KiB.
func isBinary(data []byte) bool {
	head := data
	if len(head) > 8192 {
		head = head[:8192]
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return true
	}
	// A multi-byte character cut at the 8 KiB boundary is still text.
	for i := 0; i < 3 && len(head) > 0 && !utf8.Valid(head); i++ {
		head = head[:len(head)-1]
	}
	return !utf8.Valid(head)
}

func fetchTemplateFile(opts Options) scaffolder.Action {
	const id = "fetch:template:file"
	return &simple{
		info: scaffolder.ActionInfo{
			ID:          id,
			Description: "Downloads single file and places it in the workspace.",
			Examples:    []scaffolder.ActionExample{{Description: "Downloads a single file, templates it and writes it.", Example: "steps:\n  - action: fetch:template:file\n    id: fetch-template-file\n    input:\n      url: ./skeleton/README.md\n      targetPath: README.md\n      values:\n        name: test-project\n"}},
			Input: schema(id, "input", `{"type": "object", "required": ["url", "targetPath"], "additionalProperties": false, "properties": {
				"url": {"type": "string", "title": "Fetch URL", "description": "Relative path or absolute URL pointing to the single file to fetch."},
				"targetPath": {"type": "string", "title": "Target Path", "description": "Target path within the working directory to download the file as."},
				"values": {"type": "object", "title": "Template Values", "description": "Values to pass on to the templating engine"},
				"cookiecutterCompat": {"type": "boolean", "title": "Cookiecutter compatibility mode"},
				"replace": {"type": "boolean", "title": "Replace file", "description": "If set, replace the file at targetPath if it exists."},
				"trimBlocks": {"type": "boolean", "title": "Trim Blocks"},
				"lstripBlocks": {"type": "boolean", "title": "Lstrip Blocks"},
				"token": {"type": "string", "title": "Token"}}}`),
			Output:         schema(id, "output", emptyOutput),
			SupportsDryRun: true,
		},
		run: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in fetchTemplateInput
			if err := ac.DecodeInput(&in); err != nil {
				return err
			}
			if exists, err := ac.Workspace.Exists(in.TargetPath); err != nil {
				return err
			} else if exists && !in.Replace {
				ac.Log("File %s already exists in workspace, not replacing.", in.TargetPath)
				return nil
			}
			ac.Log("Fetching template file content from remote URL")
			data, err := templateFile(ctx, ac, in.URL)
			if err != nil {
				return err
			}
			if int64(len(data)) > opts.MaxFileBytes {
				return errs.E(errs.Invalid, "file %s is over the %d byte limit", in.URL, opts.MaxFileBytes)
			}
			env := ac.Templater.SkeletonEnv(in.CookiecutterCompat, in.TrimBlocks, in.LstripBlocks)
			key := "values"
			if in.CookiecutterCompat {
				key = "cookiecutter"
			}
			out, err := env.RenderString(ctx, string(data), nunjucks.ObjectOf(key, templateValues(ac)))
			if err != nil {
				return errs.Wrap(errs.Invalid, err, "cannot render %s: %v", in.URL, err)
			}
			return ac.Workspace.WriteFile(in.TargetPath, []byte(out), 0o644)
		},
	}
}
