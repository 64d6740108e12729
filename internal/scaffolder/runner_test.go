package scaffolder_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// echo is a test action that logs its input, emits it as output, and can fail or wait.
type echo struct{}

func (echo) Info() scaffolder.ActionInfo {
	return scaffolder.ActionInfo{
		ID:             "test:echo",
		Input:          scaffolder.MustCompileSchema("echo", map[string]any{"type": "object", "properties": map[string]any{"value": map[string]any{}, "fail": map[string]any{"type": "boolean"}, "wait": map[string]any{"type": "boolean"}}, "additionalProperties": false}),
		Output:         scaffolder.MustCompileSchema("echo out", map[string]any{"type": "object", "properties": map[string]any{"value": map[string]any{"type": "string"}}}),
		SupportsDryRun: true,
	}
}

func (echo) Run(ctx context.Context, ac *scaffolder.ActionContext) error {
	v, _ := ac.Input.Get("value")
	ac.Log("echo %s", toJSONString(v))
	if f, _ := ac.Input.Get("fail"); f == true {
		return errs.E(errs.Invalid, "asked to fail with %s", toJSONString(v))
	}
	if w, _ := ac.Input.Get("wait"); w == true {
		<-ctx.Done()
		return ctx.Err()
	}
	ac.Output("value", v)
	return nil
}

func toJSONString(v any) string {
	s, ok := nunjucks.Dump(v, "")
	if !ok {
		return "undefined"
	}
	return s
}

func runSpec(t *testing.T, r *scaffolder.Runner, tplText, values string, secrets map[string]string) (scaffolder.RunResult, *recorder) {
	t.Helper()
	tpl := MustTemplate(t, tplText)
	rec := &recorder{}
	res := r.Run(context.Background(), scaffolder.RunRequest{
		TaskID: "task-1", Spec: tpl.NewTaskSpec(MustValues(t, values), scaffolder.UserInfo{Ref: "user:default/jane"}, ""),
		Secrets: secrets, Sink: rec,
	})
	return res, rec
}

const header = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: t}
spec:
`

func TestRunner(t *testing.T) {
	r := MustRunner(t, echo{})

	t.Run("StepsIfEachAndOutput", func(t *testing.T) {
		res, rec := runSpec(t, r, header+`
  steps:
    - id: one
      name: First
      action: test:echo
      input: {value: "${{ parameters.name | upper }}"}
    - id: skipped
      name: Never
      action: test:echo
      if: ${{ parameters.name == "nope" }}
    - id: never-false
      action: nonexistent:action
      if: false
    - id: loop
      name: Loop
      action: test:echo
      each: ${{ parameters.envs }}
      input: {value: "${{ each.key }}=${{ each.value }} after ${{ steps.one.output.value }}"}
    - id: loop-if
      action: test:echo
      each: {a: 1, b: 2}
      if: ${{ each.value > 1 }}
      input: {value: "${{ each.key }}"}
  output:
    text:
      - title: Result
        content: "${{ steps.loop.output.value | join(';') }} / ${{ steps['loop-if'].output.value }}"
    links:
      - title: Skipped
        url: ${{ steps.skipped.output.value }}
    user: ${{ user.ref }}
`, `{name: pay, envs: [dev, prod]}`, nil)
		if res.Status != scaffolder.StatusCompleted {
			t.Fatalf("status %s: %v", res.Status, res.Err)
		}
		want := `{"text":[{"title":"Result","content":"0=dev after PAY;1=prod after PAY / b"}],"links":[{"title":"Skipped"}],"user":"user:default/jane"}`
		if got := toJSON(t, res.Output); got != want {
			t.Fatalf("output\n got %s\nwant %s", got, want)
		}
		wantLog := []string{
			"Starting up task with 5 steps",
			"one: Beginning step First [processing]",
			`one: echo "PAY"`,
			"one: Finished step First [completed]",
			"skipped: Beginning step Never [processing]",
			"skipped: Skipping step skipped because its if condition was false [skipped]",
			"never-false: Beginning step nonexistent:action [processing]",
			"never-false: Skipping step never-false because its if condition was false [skipped]",
			"loop: Beginning step Loop [processing]",
			`loop: Running step each: {"key":"0","value":"dev"}`,
			`loop: echo "0=dev after PAY"`,
			`loop: Running step each: {"key":"1","value":"prod"}`,
			`loop: echo "1=prod after PAY"`,
			"loop: Finished step Loop [completed]",
			"loop-if: Beginning step test:echo [processing]",
			`loop-if: Skipping step each: {"key":"a","value":"1"}`,
			`loop-if: Running step each: {"key":"b","value":"2"}`,
			`loop-if: echo "b"`,
			"loop-if: Finished step test:echo [completed]",
		}
		if got := rec.lines(); strings.Join(got, "\n") != strings.Join(wantLog, "\n") {
			t.Fatalf("log\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantLog, "\n"))
		}
	})

	t.Run("SecretsAreNeverLogged", func(t *testing.T) {
		res, rec := runSpec(t, r, header+`
  steps:
    - id: s
      action: test:echo
      input: {value: "Bearer ${{ secrets.token }}"}
    - id: f
      action: test:echo
      input: {value: "${{ secrets.token }}", fail: true}
  output:
    leaked: ${{ secrets.token }}
`, `{}`, map[string]string{"token": "s3cr3t-value"})
		if res.Status != scaffolder.StatusFailed {
			t.Fatalf("status %s", res.Status)
		}
		all := strings.Join(rec.lines(), "\n") + res.Err.Error()
		if strings.Contains(all, "s3cr3t") {
			t.Fatalf("secret in log or error:\n%s", all)
		}
		if !strings.Contains(all, `echo "***"`) {
			t.Fatalf("expected a redacted value in the log:\n%s", all)
		}
		if ev := res.CompletionEvent(time.Now()); ev.Body.Error == nil || ev.Body.Error.Name != "InputError" || strings.Contains(ev.Body.Error.Message, "s3cr3t") {
			t.Fatalf("completion = %+v", ev.Body)
		}
	})

	t.Run("ErrInvalidInput", func(t *testing.T) {
		res, rec := runSpec(t, r, header+`
  steps:
    - id: bad
      action: test:echo
      input: {unknown: 1}
`, `{}`, nil)
		if res.Status != scaffolder.StatusFailed || !strings.Contains(res.Err.Error(), "Invalid input passed to action test:echo, instance is not allowed to have the additional property \"unknown\"") {
			t.Fatalf("status %s err %v", res.Status, res.Err)
		}
		lines := rec.lines()
		if last := lines[len(lines)-1]; !strings.HasSuffix(last, "[failed]") {
			t.Fatalf("last log line %q does not fail the step", last)
		}
	})

	t.Run("ErrUnknownAction", func(t *testing.T) {
		res, _ := runSpec(t, r, header+"  steps: [{id: x, action: 'no:such'}]\n", `{}`, nil)
		if res.Status != scaffolder.StatusFailed || !strings.Contains(res.Err.Error(), "Template action with ID 'no:such' is not registered.") {
			t.Fatalf("status %s err %v", res.Status, res.Err)
		}
	})

	t.Run("ErrEachUnresolved", func(t *testing.T) {
		res, _ := runSpec(t, r, header+"  steps: [{id: x, action: 'test:echo', each: '${{ parameters.missing }}'}]\n", `{}`, nil)
		if res.Status != scaffolder.StatusFailed || !strings.Contains(res.Err.Error(), "each parameter") {
			t.Fatalf("status %s err %v", res.Status, res.Err)
		}
	})

	t.Run("Cancel", func(t *testing.T) {
		tpl := MustTemplate(t, header+"  steps: [{id: wait, action: 'test:echo', input: {wait: true}}, {id: after, action: 'test:echo'}]\n")
		ctx, cancel := context.WithCancel(context.Background())
		rec := &recorder{}
		done := make(chan scaffolder.RunResult)
		go func() {
			done <- r.Run(ctx, scaffolder.RunRequest{TaskID: "c", Spec: tpl.NewTaskSpec(nil, scaffolder.UserInfo{}, ""), Sink: rec})
		}()
		time.Sleep(50 * time.Millisecond)
		cancel()
		select {
		case res := <-done:
			if res.Status != scaffolder.StatusCancelled || !errors.Is(res.Err, context.Canceled) {
				t.Fatalf("status %s err %v", res.Status, res.Err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the run did not stop when cancelled")
		}
		for _, l := range rec.lines() {
			if strings.HasPrefix(l, "after:") {
				t.Fatalf("a step ran after the cancel: %s", l)
			}
		}
	})

	t.Run("SinkFailureStopsTheTask", func(t *testing.T) {
		tpl := MustTemplate(t, header+"  steps: [{id: a, action: 'test:echo'}]\n")
		res := r.Run(context.Background(), scaffolder.RunRequest{Spec: tpl.NewTaskSpec(nil, scaffolder.UserInfo{}, ""),
			Sink: scaffolder.EventSinkFunc(func(context.Context, scaffolder.Event) error { return errors.New("disk full") })})
		if res.Status != scaffolder.StatusFailed {
			t.Fatalf("status %s", res.Status)
		}
	})
}

func TestDryRun(t *testing.T) {
	r := MustRunner(t, echo{})
	tpl := MustTemplate(t, header+`
  parameters:
    required: [name]
    properties: {name: {type: string}}
  steps:
    - id: fetch
      name: Fetch
      action: fetch:template
      input:
        url: ./skeleton
        values: {name: "${{ parameters.name }}"}
    - id: publish
      name: Publish
      action: publish:github
      input:
        repoUrl: github.com?owner=billpay&repo=${{ parameters.name }}
        token: ${{ secrets.ghToken }}
    - id: show
      action: test:echo
      input: {value: "${{ steps.publish.output.remoteUrl }} ${{ secrets.ghToken }}"}
  output:
    links:
      - title: Repository
        url: ${{ steps.publish.output.remoteUrl }}
`)
	res, err := r.DryRun(context.Background(), scaffolder.DryRunRequest{
		Template: tpl, Values: MustValues(t, `{name: payments}`), Secrets: map[string]string{"ghToken": "ghp_secret"},
		DirectoryContents: []scaffolder.SerializedFile{
			{Path: "template.yaml", Content: []byte("ignored")},
			{Path: "skeleton/README.md", Content: []byte("# ${{ values.name }}\n")},
			{Path: "skeleton/run.sh", Content: []byte("echo ${{ values.name }}\n"), Executable: true},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != scaffolder.StatusCompleted {
		t.Fatalf("status %s: %v", res.Status, res.Err)
	}
	if len(res.DirectoryContents) != 2 || string(res.DirectoryContents[0].Content) != "# payments\n" || !res.DirectoryContents[1].Executable {
		t.Fatalf("files = %+v", res.DirectoryContents)
	}
	if got := toJSON(t, res.Output); got != `{"links":[{"title":"Repository","url":"<example>"}]}` {
		t.Fatalf("output = %s", got)
	}
	log := make([]string, len(res.Log))
	for i, l := range res.Log {
		log[i] = l.Body.StepID + ": " + l.Body.Message
	}
	all := strings.Join(log, "\n")
	for _, want := range []string{
		": Starting up task with 4 steps",
		"publish: Skipping because publish:github does not support dry-run",
		`"token": "***"`,
		`show: echo "<example> "`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("log lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "ghp_secret") {
		t.Fatal("secret in the dry-run log")
	}

	t.Run("ErrInvalidValues", func(t *testing.T) {
		_, err := r.DryRun(context.Background(), scaffolder.DryRunRequest{Template: tpl, Values: MustValues(t, `{}`)})
		var verrs scaffolder.ValidationErrors
		if !errors.As(err, &verrs) || verrs[0].Argument != "name" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrDirectoryContentsEscape", func(t *testing.T) {
		_, err := r.DryRun(context.Background(), scaffolder.DryRunRequest{Template: tpl, Values: MustValues(t, `{name: x}`),
			DirectoryContents: []scaffolder.SerializedFile{{Path: "../../evil", Content: []byte("x")}}})
		if err == nil {
			t.Fatal("a file outside the dry run's directory was accepted")
		}
	})
}
