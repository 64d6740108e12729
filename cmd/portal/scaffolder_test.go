package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/billpay/portal/internal/config"
	"github.com/billpay/portal/internal/github/githubtest"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/store/storetest"
)

const (
	ghToken = "ghs_scaffolder0123456789abcdef"
	// luciaToken acts for a member of the payments team, elenaToken for one of the platform team.
	luciaToken = "lucia-token-0123456789abcdef"
	elenaToken = "elena-token-0123456789abcdef"
)

// scaffolderConfig loads BillPay's catalog, its golden-path templates and the test templates, points
// the GitHub integration at fake (when set) and makes heartbeats fast enough for a test to see a
// runner die.
func scaffolderConfig(t *testing.T, fake *githubtest.GitServer, dataDir string) func(*config.Config) {
	return func(c *config.Config) {
		if dataDir != "" {
			c.DataDir = dataDir
		}
		c.Catalog.Locations = []config.Location{fileLocation(t, "../../catalog-info/all.yaml"),
			fileLocation(t, "../../templates/all.yaml"), fileLocation(t, "testdata/scaffolder/all.yaml")}
		c.Auth.Tokens = append(c.Auth.Tokens,
			config.Token{Token: luciaToken, Subject: "user:default/lucia.fernandez"},
			config.Token{Token: elenaToken, Subject: "user:default/elena.navarro"})
		root, err := filepath.Abs("../../templates")
		require.NoError(t, err)
		c.Scaffolder.TemplateRoots = []string{root}
		c.Scaffolder.HeartbeatInterval = config.Duration(100 * time.Millisecond)
		c.Scaffolder.HeartbeatTimeout = config.Duration(time.Second)
		c.Scaffolder.PollInterval = config.Duration(20 * time.Millisecond)
		if fake != nil {
			c.GitHub.Integrations = []config.GitHubIntegration{{Host: "github.com", APIBaseURL: fake.URL(), Token: fake.Token()}}
		}
	}
}

// waitFor polls path until it answers 200.
func waitFor(t *testing.T, m *Main, path string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if apiGet(t, m, path, nil) == http.StatusOK {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not appear within %s", path, timeout)
}

func waitForTemplates(t *testing.T, m *Main, names ...string) {
	t.Helper()
	for _, n := range names {
		waitFor(t, m, "/api/scaffolder/v2/templates/default/template/"+n+"/parameter-schema", 30*time.Second)
	}
}

func createTask(t *testing.T, m *Main, token string, body any) (int, string, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	status, _, resp := do(t, http.MethodPost, m.URL()+"/api/scaffolder/v2/tasks", token, string(b))
	var out struct {
		ID string `json:"id"`
	}
	if status == http.StatusCreated {
		require.NoError(t, json.Unmarshal(resp, &out))
	}
	return status, out.ID, resp
}

func mustCreateTask(t *testing.T, m *Main, template string, values map[string]any, secrets map[string]string) string {
	t.Helper()
	status, id, body := createTask(t, m, testToken, map[string]any{"templateRef": template, "values": values, "secrets": secrets})
	require.Equal(t, http.StatusCreated, status, "%s", body)
	return id
}

type taskEvent struct {
	ID        int64                `json:"id"`
	TaskID    string               `json:"taskId"`
	Type      string               `json:"type"`
	Body      scaffolder.EventBody `json:"body"`
	CreatedAt time.Time            `json:"createdAt"`
}

type sseMessage struct {
	id, event string
	data      taskEvent
}

// follow reads a task's event stream until it ends (after the completion event).
func follow(t *testing.T, m *Main, taskID string, header map[string]string, query string) []sseMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.URL()+"/api/scaffolder/v2/tasks/"+taskID+"/eventstream"+query, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	require.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
	var out []sseMessage
	var cur sseMessage
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			cur.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			cur.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &cur.data))
		case line == "" && cur.event != "":
			out = append(out, cur)
			cur = sseMessage{}
		}
	}
	require.NoError(t, sc.Err(), "the stream did not end by itself")
	require.NotEmpty(t, out)
	require.Equal(t, "completion", out[len(out)-1].event, "the stream ends with the completion event")
	return out
}

func messagesOf(evs []sseMessage) string {
	var lines []string
	for _, e := range evs {
		lines = append(lines, e.event+": "+e.data.Body.Message)
	}
	return strings.Join(lines, "\n")
}

func getTask(t *testing.T, m *Main, id string) map[string]any {
	t.Helper()
	var task map[string]any
	require.Equal(t, http.StatusOK, apiGet(t, m, "/api/scaffolder/v2/tasks/"+id, &task))
	return task
}

func waitTaskStatus(t *testing.T, m *Main, id, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var got string
	for time.Now().Before(deadline) {
		if got, _ = getTask(t, m, id)["status"].(string); got == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("task %s is %s after %s, want %s", id, got, timeout, want)
}

func readValues(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var v map[string]any
	require.NoError(t, yaml.Unmarshal(data, &v))
	return v
}

// TestScaffolderGoService runs BillPay's Go service template through the API: a new repository on
// a loopback GitHub receives the generated code through a real git push, and the service appears in
// the catalog.
func TestScaffolderGoService(t *testing.T) {
	fake := githubtest.NewGitServer(t, ghToken)
	m := MustRunMain(t, scaffolderConfig(t, fake, ""))
	waitForTemplates(t, m, "go-service")
	start := time.Now()

	t.Run("ParameterSchema", func(t *testing.T) {
		var ps struct {
			Title       string `json:"title"`
			Description string `json:"description"`
			Steps       []struct {
				Title  string         `json:"title"`
				Schema map[string]any `json:"schema"`
			} `json:"steps"`
		}
		require.Equal(t, http.StatusOK, apiGet(t, m, "/api/scaffolder/v2/templates/default/template/go-service/parameter-schema", &ps))
		require.Equal(t, "Go service", ps.Title)
		require.Contains(t, ps.Description, "Go HTTP service")
		require.Len(t, ps.Steps, 2)
		require.Equal(t, "Service", ps.Steps[0].Title)
		require.Equal(t, []any{"name", "description", "owner", "system"}, ps.Steps[0].Schema["required"])

		status, _, body := do(t, http.MethodGet, m.URL()+"/api/scaffolder/v2/templates/default/template/nope/parameter-schema", testToken, "")
		require.Equal(t, http.StatusNotFound, status)
		require.Equal(t, "NotFoundError", backstageErrorName(t, body))
		status, _, body = do(t, http.MethodGet, m.URL()+"/api/scaffolder/v2/templates/default/component/portal/parameter-schema", testToken, "")
		require.Equal(t, http.StatusBadRequest, status, "%s", body)
		require.Equal(t, "InputError", backstageErrorName(t, body))
	})

	t.Run("Actions", func(t *testing.T) {
		var actions []struct {
			ID     string                    `json:"id"`
			Schema map[string]map[string]any `json:"schema"`
		}
		require.Equal(t, http.StatusOK, apiGet(t, m, "/api/scaffolder/v2/actions", &actions))
		var ids []string
		for _, a := range actions {
			ids = append(ids, a.ID)
			require.NotEmpty(t, a.Schema["input"], a.ID)
		}
		require.Contains(t, ids, "publish:github")
		require.Contains(t, ids, "catalog:register")
		require.Contains(t, ids, "fetch:template")
	})

	t.Run("ErrValues", func(t *testing.T) {
		values := readValues(t, "../../templates/go-service/testdata/values.yaml")
		values["name"] = "Not A Name"
		status, _, body := createTask(t, m, testToken, map[string]any{"templateRef": "template:default/go-service", "values": values})
		require.Equal(t, http.StatusBadRequest, status)
		var out struct {
			Errors []struct {
				Property string `json:"property"`
				Message  string `json:"message"`
			} `json:"errors"`
		}
		require.NoError(t, json.Unmarshal(body, &out), "%s", body)
		require.Len(t, out.Errors, 1)
		require.Equal(t, "instance.name", out.Errors[0].Property)

		status, _, body = createTask(t, m, testToken, map[string]any{"templateRef": "template:default/no-such-template", "values": map[string]any{}})
		require.Equal(t, http.StatusNotFound, status)
		require.Equal(t, "NotFoundError", backstageErrorName(t, body))
	})

	values := readValues(t, "../../templates/go-service/testdata/values.yaml")
	id := mustCreateTask(t, m, "go-service", values, map[string]string{"USER_OAUTH_TOKEN": "gho_usersecret0123456789"})
	evs := follow(t, m, id, nil, "")
	all := messagesOf(evs)
	completion := evs[len(evs)-1].data
	require.Equal(t, "Run completed with status: completed", completion.Body.Message, "events:\n%s", all)
	t.Logf("go-service task: %d events, %s from creation to completion", len(evs), time.Since(start).Round(time.Millisecond))

	t.Run("EventShapes", func(t *testing.T) {
		var last int64
		for _, e := range evs {
			require.Equal(t, id, e.data.TaskID)
			require.Equal(t, e.event, e.data.Type)
			require.Equal(t, fmt.Sprint(e.data.ID), e.id)
			require.Greater(t, e.data.ID, last)
			require.False(t, e.data.CreatedAt.IsZero())
			last = e.data.ID
		}
		require.Equal(t, "Starting up task with 3 steps", evs[0].data.Body.Message)
		for _, step := range []string{"fetch", "publish", "register"} {
			require.Contains(t, all, "log: Finished step", step)
		}
		require.NotContains(t, all, "gho_usersecret")
		require.NotContains(t, all, ghToken)
		out, err := json.Marshal(completion.Body.Output)
		require.NoError(t, err)
		require.JSONEq(t, `{"links":[{"title":"Repository","url":"`+fake.URL()+`/git/billpay/fx-rates.git"},`+
			`{"title":"Open in catalog","icon":"catalog","entityRef":"component:default/fx-rates"}]}`, string(out))
	})

	t.Run("RepositoryReceivedTheFiles", func(t *testing.T) {
		files := fake.Git(t, "billpay", "fx-rates", "ls-tree", "-r", "--name-only", "main")
		for _, f := range []string{"catalog-info.yaml", "main.go", "go.mod", "Dockerfile", "deploy/values.yaml", "docs/index.md", ".github/workflows/ci.yaml"} {
			require.Contains(t, strings.Split(files, "\n"), f)
		}
		gomod := fake.Git(t, "billpay", "fx-rates", "show", "main:go.mod")
		require.Contains(t, gomod, "module github.com/billpay/fx-rates")
		want, err := os.ReadFile("../../templates/go-service/testdata/dry-run/files/catalog-info.yaml")
		require.NoError(t, err)
		require.Equal(t, strings.TrimSpace(string(want)), fake.Git(t, "billpay", "fx-rates", "show", "main:catalog-info.yaml"),
			"the pushed catalog entry is what the dry run produces")
		create := fake.Body("POST /orgs/billpay/repos")
		require.Equal(t, "internal", create["visibility"])
		require.Contains(t, fake.Requests(), "PUT /repos/billpay/fx-rates/branches/main/protection")
	})

	t.Run("ServiceAppearsInTheCatalog", func(t *testing.T) {
		waitFor(t, m, "/api/catalog/entities/by-name/component/default/fx-rates", 30*time.Second)
		var e map[string]any
		apiGet(t, m, "/api/catalog/entities/by-name/component/default/fx-rates", &e)
		require.Equal(t, "group:default/payments-team", e["spec"].(map[string]any)["owner"])
		ann := e["metadata"].(map[string]any)["annotations"].(map[string]any)
		require.Equal(t, "url:https://github.com/billpay/fx-rates/blob/main/catalog-info.yaml", ann["backstage.io/managed-by-location"])
	})

	t.Run("TaskAndList", func(t *testing.T) {
		task := getTask(t, m, id)
		require.Equal(t, "completed", task["status"])
		require.Equal(t, "test", task["createdBy"])
		require.NotContains(t, task, "secrets")
		spec := task["spec"].(map[string]any)
		require.Equal(t, "template:default/go-service", spec["templateInfo"].(map[string]any)["entityRef"])
		raw, _ := json.Marshal(task)
		require.NotContains(t, string(raw), "gho_usersecret")

		var list struct {
			Tasks      []map[string]any `json:"tasks"`
			TotalTasks int              `json:"totalTasks"`
		}
		require.Equal(t, http.StatusOK, apiGet(t, m, "/api/scaffolder/v2/tasks?createdBy=test&status=completed", &list))
		require.Equal(t, 1, list.TotalTasks)
		require.Equal(t, id, list.Tasks[0]["id"])
		require.Equal(t, http.StatusOK, apiGet(t, m, "/api/scaffolder/v2/tasks?createdBy=user:default/nobody", &list))
		require.Equal(t, 0, list.TotalTasks)
		require.Empty(t, list.Tasks)
		status, _, body := do(t, http.MethodGet, m.URL()+"/api/scaffolder/v2/tasks?status=sleeping", testToken, "")
		require.Equal(t, http.StatusBadRequest, status, "%s", body)
		status, _, body = do(t, http.MethodGet, m.URL()+"/api/scaffolder/v2/tasks/no-such-task", testToken, "")
		require.Equal(t, http.StatusNotFound, status)
		require.Equal(t, "NotFoundError", backstageErrorName(t, body))
	})

	t.Run("Resume", func(t *testing.T) {
		mid := evs[len(evs)/2].data.ID
		rest := follow(t, m, id, nil, fmt.Sprintf("?after=%d", mid))
		require.Equal(t, mid+1, rest[0].data.ID)
		require.Len(t, rest, len(evs)-len(evs)/2-1)
		again := follow(t, m, id, map[string]string{"Last-Event-ID": fmt.Sprint(mid)}, "")
		require.Len(t, again, len(rest))

		var polled []taskEvent
		require.Equal(t, http.StatusOK, apiGet(t, m, fmt.Sprintf("/api/scaffolder/v2/tasks/%s/events?after=%d", id, completion.ID), &polled))
		require.Len(t, polled, 1, "the completion event always comes back")
		require.Equal(t, "completion", polled[0].Type)
	})

	t.Run("Autocomplete", func(t *testing.T) {
		status, _, body := do(t, http.MethodPost, m.URL()+"/api/scaffolder/v2/autocomplete/github/branches", testToken,
			`{"token": "`+ghToken+`", "context": {"owner": "billpay", "repository": "fx-rates"}}`)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.JSONEq(t, `{"results": [{"id": "main"}]}`, string(body))
		status, _, body = do(t, http.MethodPost, m.URL()+"/api/scaffolder/v2/autocomplete/github/repositoriesWithOwner", testToken,
			`{"token": "`+ghToken+`"}`)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.Contains(t, string(body), `"billpay/fx-rates"`)
		status, _, body = do(t, http.MethodPost, m.URL()+"/api/scaffolder/v2/autocomplete/gitlab/projects", testToken, `{"token": "x"}`)
		require.Equal(t, http.StatusBadRequest, status)
		require.Equal(t, "InputError", backstageErrorName(t, body))
	})

	t.Run("ErrRepositoryExists", func(t *testing.T) {
		again := mustCreateTask(t, m, "template:default/go-service", values, nil)
		evs := follow(t, m, again, nil, "")
		require.Equal(t, "Run completed with status: failed", evs[len(evs)-1].data.Body.Message)
		require.Contains(t, evs[len(evs)-1].data.Body.Error.Message, "name already exists")
		require.Equal(t, "failed", getTask(t, m, again)["status"])
	})
}

// TestScaffolderCancelAndRetry cancels a task in the middle of a long step, then runs it again.
func TestScaffolderCancelAndRetry(t *testing.T) {
	m := MustRunMain(t, scaffolderConfig(t, nil, ""))
	waitForTemplates(t, m, "wait-a-while")
	id := mustCreateTask(t, m, "wait-a-while", map[string]any{"seconds": 60}, map[string]string{"token": "s3cret-token-value"})
	waitTaskStatus(t, m, id, "processing", 10*time.Second)

	done := make(chan []sseMessage, 1)
	go func() { done <- follow(t, m, id, nil, "") }()
	time.Sleep(200 * time.Millisecond) // into debug:wait
	start := time.Now()
	status, _, body := do(t, http.MethodPost, m.URL()+"/api/scaffolder/v2/tasks/"+id+"/cancel", testToken, "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.JSONEq(t, `{"status": "cancelled"}`, string(body))
	var evs []sseMessage
	select {
	case evs = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the stream of the cancelled task did not end")
	}
	t.Logf("cancel took effect in %s", time.Since(start).Round(time.Millisecond))
	all := messagesOf(evs)
	require.Contains(t, all, "cancelled: Run cancelled")
	require.True(t, strings.HasSuffix(all, "completion: Run completed with status: cancelled"), all)
	require.NotContains(t, all, "done waiting")
	require.NotContains(t, all, "s3cret-token-value")
	require.Equal(t, "cancelled", getTask(t, m, id)["status"])

	status, _, body = do(t, http.MethodPost, m.URL()+"/api/scaffolder/v2/tasks/"+id+"/cancel", testToken, "")
	require.Equal(t, http.StatusConflict, status)
	require.Equal(t, "ConflictError", backstageErrorName(t, body))

	// Retry runs it again from the start with new secrets.
	status, _, body = do(t, http.MethodPost, m.URL()+"/api/scaffolder/v2/tasks/"+id+"/retry", testToken, `{"secrets": {"token": "another-secret"}}`)
	require.Equal(t, http.StatusCreated, status, "%s", body)
	require.JSONEq(t, `{"id": "`+id+`"}`, string(body))
	waitTaskStatus(t, m, id, "processing", 10*time.Second)
	status, _, _ = do(t, http.MethodPost, m.URL()+"/api/scaffolder/v2/tasks/"+id+"/retry", testToken, `{}`)
	require.Equal(t, http.StatusConflict, status, "a running task cannot be retried")
	status, _, _ = do(t, http.MethodPost, m.URL()+"/api/scaffolder/v2/tasks/"+id+"/cancel", testToken, "")
	require.Equal(t, http.StatusOK, status)
	evs = follow(t, m, id, nil, "")
	all = messagesOf(evs)
	require.Contains(t, all, "recovered: Task was recovered and will start over")
	require.Equal(t, 2, strings.Count(all, "Starting up task"))
	require.NotContains(t, all, "another-secret")

	t.Run("Audited", func(t *testing.T) {
		var page struct {
			Items []struct {
				Action   string `json:"action"`
				Resource string `json:"resource"`
				Status   int    `json:"status"`
			} `json:"items"`
		}
		apiGet(t, m, "/api/audit?resource=task:"+id, &page)
		var actions []string
		for _, it := range page.Items {
			actions = append(actions, it.Action)
		}
		require.Subset(t, actions, []string{"createScaffolderTask", "cancelScaffolderTask", "retryScaffolderTask"}, "%v", actions)
	})
}

// TestScaffolderRecoversAfterRunnerDies stops a portal while two tasks run, then starts another on the
// same database: the task whose template asks to start over runs again to completion, the other
// fails as stale.
func TestScaffolderRecoversAfterRunnerDies(t *testing.T) {
	dataDir := t.TempDir()
	cfg := scaffolderConfig(t, nil, dataDir)
	first := MustRunMain(t, cfg)
	waitForTemplates(t, first, "wait-a-while", "restartable")
	plain := mustCreateTask(t, first, "wait-a-while", map[string]any{"seconds": 60}, nil)
	restartable := mustCreateTask(t, first, "restartable", map[string]any{"seconds": 1}, map[string]string{"token": "kept-across-restarts"})
	waitTaskStatus(t, first, plain, "processing", 10*time.Second)
	waitTaskStatus(t, first, restartable, "processing", 10*time.Second)
	require.NoError(t, first.Close()) // the runner "dies": it never completes its tasks
	start := time.Now()

	second := MustRunMain(t, cfg)
	require.Equal(t, "processing", getTask(t, second, plain)["status"])
	evs := follow(t, second, restartable, nil, "")
	all := messagesOf(evs)
	require.Contains(t, all, "recovered: Task was recovered and will start over")
	require.Equal(t, 2, strings.Count(all, "Starting up task"))
	require.True(t, strings.HasSuffix(all, "completion: Run completed with status: completed"), all)
	require.Contains(t, all, "log: ***", "the secrets survived the restart (and stayed masked)")
	t.Logf("restarted task completed %s after its runner died", time.Since(start).Round(time.Millisecond))

	evs = follow(t, second, plain, nil, "")
	all = messagesOf(evs)
	require.Contains(t, all, scaffolder.StaleMessage)
	require.True(t, strings.HasSuffix(all, "completion: Run completed with status: failed"), all)
	require.Equal(t, "failed", getTask(t, second, plain)["status"])
}

// TestScaffolderOwnersOnlyTemplate: a template annotated run-policy: owners runs only for its owners.
func TestScaffolderOwnersOnlyTemplate(t *testing.T) {
	m := MustRunMain(t, scaffolderConfig(t, nil, ""))
	waitForTemplates(t, m, "platform-only")
	waitFor(t, m, "/api/catalog/entities/by-name/user/default/elena.navarro", 30*time.Second)

	status, _, body := createTask(t, m, luciaToken, map[string]any{"templateRef": "template:default/platform-only", "values": map[string]any{}})
	require.Equal(t, http.StatusForbidden, status, "%s", body)
	require.Equal(t, "NotAllowedError", backstageErrorName(t, body))
	require.Contains(t, string(body), "scaffolder.template.run")
	require.Contains(t, string(body), "group:default/platform-team")

	status, id, body := createTask(t, m, elenaToken, map[string]any{"templateRef": "template:default/platform-only", "values": map[string]any{}})
	require.Equal(t, http.StatusCreated, status, "%s", body)
	evs := follow(t, m, id, nil, "")
	require.Contains(t, messagesOf(evs), "completion: Run completed with status: completed")

	// Templates without the annotation stay open to everyone.
	status, _, body = createTask(t, m, luciaToken, map[string]any{"templateRef": "wait-a-while", "values": map[string]any{"seconds": 0}})
	require.Equal(t, http.StatusCreated, status, "%s", body)
	// Reading is open: a non-owner sees the form.
	status, _, _ = do(t, http.MethodGet, m.URL()+"/api/scaffolder/v2/templates/default/template/platform-only/parameter-schema", luciaToken, "")
	require.Equal(t, http.StatusOK, status)
}

// templateContents reads a template directory as a dry run's directoryContents, testdata left out.
func templateContents(t *testing.T, dir string) []map[string]any {
	t.Helper()
	var out []map[string]any
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if rel == "testdata" {
				return fs.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, map[string]any{"path": filepath.ToSlash(rel), "base64Content": base64.StdEncoding.EncodeToString(b)})
		return nil
	}))
	return out
}

// goldenFiles reads a template's expected dry-run files.
func goldenFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	}))
	return out
}

// TestScaffolderDryRun dry-runs the Go service template through the API and through the CLI; both
// produce the files of the template's golden dry run.
func TestScaffolderDryRun(t *testing.T) {
	want := goldenFiles(t, "../../templates/go-service/testdata/dry-run/files")
	values := readValues(t, "../../templates/go-service/testdata/values.yaml")

	t.Run("API", func(t *testing.T) {
		m := MustRunMain(t, scaffolderConfig(t, nil, ""))
		data, err := os.ReadFile("../../templates/go-service/template.yaml")
		require.NoError(t, err)
		var tpl map[string]any
		require.NoError(t, yaml.Unmarshal(data, &tpl))
		req, err := json.Marshal(map[string]any{"template": tpl, "values": values, "secrets": map[string]string{"token": "dry-run-secret"},
			"directoryContents": templateContents(t, "../../templates/go-service")})
		require.NoError(t, err)
		start := time.Now()
		status, _, body := do(t, http.MethodPost, m.URL()+"/api/scaffolder/v2/dry-run", testToken, string(req))
		require.Equal(t, http.StatusOK, status, "%s", body)
		t.Logf("dry run through the API: %s", time.Since(start).Round(time.Millisecond))
		var res struct {
			Log []struct {
				Body scaffolder.EventBody `json:"body"`
			} `json:"log"`
			DirectoryContents []struct {
				Path          string `json:"path"`
				Base64Content string `json:"base64Content"`
				Executable    bool   `json:"executable"`
			} `json:"directoryContents"`
			Output map[string]any `json:"output"`
			Steps  []struct {
				ID, Name, Action string
			} `json:"steps"`
		}
		require.NoError(t, json.Unmarshal(body, &res))
		got := map[string]string{}
		for _, f := range res.DirectoryContents {
			b, err := base64.StdEncoding.DecodeString(f.Base64Content)
			require.NoError(t, err)
			got[f.Path] = string(b)
		}
		require.Equal(t, want, got)
		require.Len(t, res.Steps, 3)
		require.Equal(t, "publish:github", res.Steps[1].Action)
		var log []string
		for _, l := range res.Log {
			log = append(log, l.Body.Message)
		}
		require.Equal(t, "Starting up task with 4 steps", log[0])
		require.Contains(t, strings.Join(log, "\n"), "Skipping because publish:github does not support dry-run")
		require.NotContains(t, string(body), "dry-run-secret")
		require.NotEmpty(t, res.Output["links"])

		status, _, body = do(t, http.MethodPost, m.URL()+"/api/scaffolder/v2/dry-run", testToken, `{"template": {"kind": "Component"}, "values": {}}`)
		require.Equal(t, http.StatusBadRequest, status, "%s", body)
		require.Equal(t, "InputError", backstageErrorName(t, body))
		status, _, body = do(t, http.MethodPost, m.URL()+"/api/scaffolder/v2/dry-run", testToken,
			`{"template": `+string(mustJSON(tpl))+`, "values": {"name": "x"}}`)
		require.Equal(t, http.StatusBadRequest, status, "%s", body)
		require.Contains(t, string(body), `"errors"`)
	})

	t.Run("CLI", func(t *testing.T) {
		out := t.TempDir()
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"scaffolder", "dry-run", "../../templates/go-service/template.yaml",
			"--values", "../../templates/go-service/testdata/values.yaml", "--out", out}, &stdout, &stderr)
		require.Equal(t, 0, code, "stderr: %s", stderr.String())
		require.Equal(t, want, goldenFiles(t, out))
		text := stdout.String()
		for _, s := range []string{"Steps:", "publish              publish:github", "Files (", "catalog-info.yaml", "Output:", "Wrote "} {
			require.Contains(t, text, s)
		}

		stdout.Reset()
		stderr.Reset()
		bad := filepath.Join(t.TempDir(), "values.yaml")
		require.NoError(t, os.WriteFile(bad, []byte("name: Not OK\n"), 0o644))
		code = run(context.Background(), []string{"scaffolder", "dry-run", "--values", bad, "../../templates/go-service/template.yaml"}, &stdout, &stderr)
		require.Equal(t, 1, code)
		require.Contains(t, stderr.String(), "instance.name")

		code = run(context.Background(), []string{"scaffolder"}, &stdout, &stderr)
		require.Equal(t, 2, code)
	})
}

// TestScaffolderReplicasOnPostgres starts two portals on one PostgreSQL database: between them
// every task runs exactly once.
func TestScaffolderReplicasOnPostgres(t *testing.T) {
	dbURL := storetest.PostgresSchema(t, storetest.PostgresURL(t))
	cfg := scaffolderConfig(t, nil, "")
	mutate := func(c *config.Config) {
		cfg(c)
		c.Database.URL = dbURL
	}
	a := MustRunMain(t, mutate)
	b := MustRunMain(t, mutate)
	waitForTemplates(t, a, "wait-a-while")
	var ids []string
	for i := range 12 {
		m := a
		if i%2 == 1 {
			m = b
		}
		ids = append(ids, mustCreateTask(t, m, "wait-a-while", map[string]any{"seconds": 0.05}, nil))
	}
	for _, id := range ids {
		evs := follow(t, b, id, nil, "")
		all := messagesOf(evs)
		require.Equal(t, 1, strings.Count(all, "Starting up task"), all)
		require.True(t, strings.HasSuffix(all, "completion: Run completed with status: completed"), all)
	}
	var list struct {
		TotalTasks int `json:"totalTasks"`
	}
	apiGet(t, a, "/api/scaffolder/v2/tasks?status=completed", &list)
	require.Equal(t, 12, list.TotalTasks)
}

// TestScaffolderWithoutGit: where git is missing, templates that publish to GitHub are refused with a
// message that says so, while dry runs and other templates work.
// TestScaffolderWithoutGit runs a template that publishes to GitHub where no git executable is on PATH, as in
// Portal's scratch image: publish:github pushes in-process. (The fake GitHub's own git http-backend was found
// before PATH was emptied; it stands for GitHub's servers, not for anything Portal runs.)
func TestScaffolderWithoutGit(t *testing.T) {
	fake := githubtest.NewGitServer(t, ghToken)
	t.Setenv("PATH", t.TempDir())
	m := MustRunMain(t, scaffolderConfig(t, fake, ""))
	waitForTemplates(t, m, "go-service")
	id := mustCreateTask(t, m, "template:default/go-service", readValues(t, "../../templates/go-service/testdata/values.yaml"),
		map[string]string{"USER_OAUTH_TOKEN": "gho_usersecret0123456789"})
	evs := follow(t, m, id, nil, "")
	require.Equal(t, "Run completed with status: completed", evs[len(evs)-1].data.Body.Message, "events:\n%s", messagesOf(evs))
}
