package action

import (
	"context"
	"path"
	"strings"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/workspace"
)

func fsRename() scaffolder.Action {
	const id = "fs:rename"
	return &simple{
		info: scaffolder.ActionInfo{
			ID:          id,
			Description: "Renames files and directories within the workspace",
			Examples:    []scaffolder.ActionExample{{Description: "Rename specified files", Example: "steps:\n  - action: fs:rename\n    id: renameFiles\n    name: Rename files\n    input:\n      files:\n        - from: file1.txt\n          to: file1Renamed.txt\n        - from: file2.txt\n          to: file2Renamed.txt\n          overwrite: true\n"}},
			Input: schema(id, "input", `{"type": "object", "required": ["files"], "additionalProperties": false, "properties": {
				"files": {"title": "Files", "description": "A list of file and directory names that will be renamed", "type": "array", "items": {
					"type": "object", "required": ["from", "to"], "additionalProperties": false, "properties": {
						"from": {"type": "string", "title": "The source location of the file to be renamed"},
						"to": {"type": "string", "title": "The destination of the new file"},
						"overwrite": {"type": "boolean", "title": "Overwrite existing file or directory, default is false"}}}}}}`),
			Output:         schema(id, "output", emptyOutput),
			SupportsDryRun: true,
		},
		run: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in struct {
				Files []struct {
					From      string `json:"from"`
					To        string `json:"to"`
					Overwrite bool   `json:"overwrite"`
				} `json:"files"`
			}
			if err := ac.DecodeInput(&in); err != nil {
				return err
			}
			for _, f := range in.Files {
				if f.From == "" || f.To == "" {
					return errs.E(errs.Invalid, "each file must have a from and to property")
				}
				if ok, err := ac.Workspace.Exists(f.From); err != nil {
					return err
				} else if !ok {
					return errs.E(errs.NotFound, "File %s does not exist", f.From)
				}
				exists, err := ac.Workspace.Exists(f.To)
				if err != nil {
					return err
				}
				if exists {
					if !f.Overwrite {
						return errs.E(errs.Conflict, "There is already a file at %s and overwrite is not enabled", f.To)
					}
					if err := ac.Workspace.Remove(f.To); err != nil {
						return err
					}
				}
				if err := ac.Workspace.Rename(f.From, f.To); err != nil {
					return err
				}
				ac.Log("Renamed %s to %s", f.From, f.To)
			}
			return nil
		},
	}
}

func fsDelete() scaffolder.Action {
	const id = "fs:delete"
	return &simple{
		info: scaffolder.ActionInfo{
			ID:          id,
			Description: "Deletes files and directories from the workspace",
			Examples:    []scaffolder.ActionExample{{Description: "Delete specified files", Example: "steps:\n  - action: fs:delete\n    id: deleteFiles\n    name: Delete files\n    input:\n      files:\n        - file1.txt\n        - 'docs/**/*.tmp'\n"}},
			Input: schema(id, "input", `{"type": "object", "required": ["files"], "additionalProperties": false, "properties": {
				"files": {"title": "Files", "description": "A list of files and directories (glob patterns allowed) that will be deleted", "type": "array", "items": {"type": "string"}}}}`),
			Output:         schema(id, "output", emptyOutput),
			SupportsDryRun: true,
		},
		run: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in struct {
				Files []string `json:"files"`
			}
			if err := ac.DecodeInput(&in); err != nil {
				return err
			}
			entries, err := ac.Workspace.Walk(".", workspace.WalkOptions{Dirs: true, Git: true})
			if err != nil {
				return err
			}
			for _, pattern := range in.Files {
				// Every pattern is checked on its own so that "../x" or "/etc" fails loudly rather
				// than matching nothing.
				if _, err := workspace.Clean(strings.TrimRight(globBase(pattern), "/")); err != nil {
					return err
				}
				var deleted []string
				for _, e := range entries {
					if !matchGlob(pattern, e.Path) {
						continue
					}
					if under(e.Path, deleted) {
						continue
					}
					if err := ac.Workspace.Remove(e.Path); err != nil {
						return err
					}
					deleted = append(deleted, e.Path)
					ac.Log("File %s deleted successfully", e.Path)
				}
			}
			return nil
		},
	}
}

// globBase is the literal leading part of a glob, which must itself stay in the workspace.
func globBase(pattern string) string {
	if i := strings.IndexAny(pattern, "*?[{"); i >= 0 {
		return path.Dir(pattern[:i+1])
	}
	return pattern
}

func under(p string, dirs []string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}
