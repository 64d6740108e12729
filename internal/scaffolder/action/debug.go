package action

import (
	"context"
	"strings"
	"time"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/workspace"
)

func debugLog() scaffolder.Action {
	const id = "debug:log"
	return &simple{
		info: scaffolder.ActionInfo{
			ID:          id,
			Description: "Writes a message into the log and/or lists all files in the workspace.",
			Examples:    []scaffolder.ActionExample{{Description: "Write a debug message", Example: "steps:\n  - action: debug:log\n    id: write-debug-line\n    name: Write \"Hello Backstage!\" log line\n    input:\n      message: Hello Backstage!\n"}},
			Input: schema(id, "input", `{"type": "object", "additionalProperties": false, "properties": {
				"message": {"type": "string", "title": "Message to output."},
				"listWorkspace": {"oneOf": [{"type": "boolean"}, {"type": "string", "enum": ["with-filenames", "with-contents"]}], "title": "List all files in the workspace, if true."},
				"extra": {"title": "Extra info"}}}`),
			Output:         schema(id, "output", emptyOutput),
			SupportsDryRun: true,
		},
		run: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			ac.Log("%s", dumpOrEmpty(ac.Input))
			if m, ok := ac.Input.Get("message"); ok {
				ac.Log("%s", m)
			}
			mode, _ := ac.Input.Get("listWorkspace")
			if mode == nil || mode == false {
				return nil
			}
			files, err := ac.Workspace.Walk(".", workspace.WalkOptions{})
			if err != nil {
				return err
			}
			var b strings.Builder
			for _, f := range files {
				b.WriteString("  " + f.Path)
				if mode == "with-contents" && f.LinkTarget == "" {
					data, err := ac.Workspace.ReadFile(f.Path)
					if err != nil {
						return err
					}
					b.WriteString(":\n  " + strings.ReplaceAll(string(data), "\n", "\n  "))
				}
				b.WriteString("\n")
			}
			ac.Log("Workspace:\n%s", b.String())
			return nil
		},
	}
}

func debugWait(maxWait time.Duration) scaffolder.Action {
	const id = "debug:wait"
	return &simple{
		info: scaffolder.ActionInfo{
			ID:          id,
			Description: "Waits for a certain period of time.",
			Examples:    []scaffolder.ActionExample{{Description: "Waiting for 50 milliseconds", Example: "steps:\n  - action: debug:wait\n    id: wait-50ms\n    input:\n      milliseconds: 50\n"}},
			Input: schema(id, "input", `{"type": "object", "additionalProperties": false, "properties": {
				"minutes": {"type": "number", "title": "Waiting period in minutes."},
				"seconds": {"type": "number", "title": "Waiting period in seconds."},
				"milliseconds": {"type": "number", "title": "Waiting period in milliseconds."}}}`),
			Output:         schema(id, "output", emptyOutput),
			SupportsDryRun: true,
		},
		run: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in struct {
				Minutes, Seconds, Milliseconds float64
			}
			if err := ac.DecodeInput(&in); err != nil {
				return err
			}
			d := time.Duration(in.Minutes*float64(time.Minute) + in.Seconds*float64(time.Second) + in.Milliseconds*float64(time.Millisecond))
			if d > maxWait {
				return errs.E(errs.Invalid, "Waiting duration is longer than the maximum threshold of %s", maxWait)
			}
			if d < 0 {
				return errs.E(errs.Invalid, "Waiting duration must not be negative")
			}
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		},
	}
}
