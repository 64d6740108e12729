package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitForTask reloads a task page until the task has ended, as its script does.
func waitForTask(t *testing.T, b *browser, path string) page {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		frag := b.get(path + "?fragment=1")
		require.Equal(t, http.StatusOK, frag.status, text(frag.body))
		if strings.Contains(frag.body, `data-done="true"`) {
			return b.get(path)
		}
		if time.Now().After(deadline) {
			t.Fatalf("task did not end: %s", text(frag.body))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCreate(t *testing.T) {
	p := mustPortal(t, nil, withScaffolder)
	lucia := p.session("user:default/lucia.fernandez")

	t.Run("TemplatesFromTheCatalog", func(t *testing.T) {
		page := lucia.get("/create")
		requireOK(t, page)
		got := text(page.body)
		assert.Contains(t, got, "Hello service")
		assert.Contains(t, got, "A service that says **hello**.", "the card shows the description as written")
		assert.Contains(t, links(page.body, "Choose Hello service"), "/create/templates/default/hello-service")
		assert.NotContains(t, got, "Your recent tasks", "she has none yet")
	})

	t.Run("TheFormIsDrawnFromTheParameterSchema", func(t *testing.T) {
		page := lucia.get("/create/templates/default/hello-service")
		requireOK(t, page)
		got := text(page.body)
		assert.Contains(t, got, "1 About the service")
		assert.Contains(t, got, "2 How it runs")
		assert.Contains(t, page.body, "<strong>hello</strong>", "the template's description is Markdown")
		assert.Regexp(t, `<input id="param-name" name="name" type="text" value="" required autofocus pattern="\^\[a-z\]\[a-z0-9-\]\*\$"`, page.body)
		assert.Regexp(t, `(?s)<datalist id="param-owner-list">.*<option value="group:default/payments-team">`, page.body)
		assert.NotRegexp(t, `(?s)<datalist id="param-owner-list">[^/]*user:default`, page.body, "the picker offers the kinds its filter names")
		assert.Regexp(t, `<textarea id="param-description" name="description" rows="4"`, page.body)
		assert.Regexp(t, `(?s)<select id="param-language" name="language".*<option value="go" selected>Go</option>\s*<option value="java">Java</option>`, page.body)
		assert.Regexp(t, `<input id="param-replicas" name="replicas" type="number" value="2" min="1" max="10" step="1"`, page.body)
		assert.Contains(t, page.body, `<input type="checkbox" id="param-public" name="public" value="true">`)
		assert.Contains(t, page.body, `name="features" value="tracing"`)
		assert.Regexp(t, `<textarea id="param-settings" name="settings" rows="3" class="code"`, page.body)
		assert.Contains(t, got, "Tags One per line.")
		assertLabelled(t, "/create/templates/default/hello-service", page.body)
	})

	t.Run("ProblemsAreShownBesideTheirField", func(t *testing.T) {
		res := lucia.post("/create/templates/default/hello-service", url.Values{"name": {"Not Valid"}, "owner": {"group:default/payments-team"},
			"language": {"go"}, "replicas": {"two"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		assert.Regexp(t, `(?s)id="param-replicas".*?Replicas must be a whole number`, res.body)
		assert.Contains(t, res.body, `value="Not Valid"`, "what was typed comes back")

		res = lucia.post("/create/templates/default/hello-service", url.Values{"name": {"Not Valid"}, "owner": {"group:default/payments-team"},
			"language": {"go"}, "replicas": {"3"}, "settings": {`{"a":`}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		assert.Regexp(t, `(?s)id="param-settings".*?Extra settings must be JSON`, res.body)

		res = lucia.post("/create/templates/default/hello-service", url.Values{"name": {"Not Valid"}, "owner": {"group:default/payments-team"},
			"language": {"go"}, "replicas": {"3"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status, "the template's own schema refuses the name")
		got := text(res.body)
		assert.Contains(t, got, "The template was not started")
		assert.Regexp(t, `(?s)id="param-name".*?aria-invalid="true".*?class="field-error">name `, res.body)
		assert.Contains(t, res.body, `href="#param-name"`)
	})

	t.Run("ATaskRunsToTheEndAndShowsItsResult", func(t *testing.T) {
		res := lucia.post("/create/templates/default/hello-service", url.Values{"name": {"greeter"}, "owner": {"group:default/payments-team"},
			"description": {"Says hello"}, "language": {"java"}, "replicas": {"3"}, "public": {"false", "true"}, "tags": {"a\n\nb"},
			"features": {"metrics", "tracing"}, "settings": {`{"color": "blue"}`}})
		require.Equal(t, http.StatusSeeOther, res.status, text(res.body))
		taskURL := res.header.Get("Location")
		require.Regexp(t, `^/create/tasks/[^/]+$`, taskURL)
		assert.Contains(t, p.audit.actions(), "createScaffolderTask")

		page := waitForTask(t, lucia, taskURL)
		requireOK(t, page)
		got := text(page.body)
		assert.Contains(t, got, "Started Hello service.")
		assert.Contains(t, got, "Status completed")
		assert.Contains(t, got, "Say hello debug:log : completed")
		assert.Contains(t, got, "[greet] hello greeter in java x3")
		assert.Contains(t, links(page.body, "Open in catalog"), "/catalog/default/component/greeter")
		assert.Contains(t, page.body, "Push to <strong>main</strong> to deploy.")
		assert.NotContains(t, page.body, `action="`+taskURL+`/cancel"`, "a finished task cannot be cancelled")

		task, err := p.scaffolder.GetTask(t.Context(), strings.TrimPrefix(taskURL, "/create/tasks/"))
		require.NoError(t, err)
		params, _ := task.Spec.Parameters.MarshalJSON()
		for _, want := range []string{`"public":true`, `"tags":["a","b"]`, `"features":["metrics","tracing"]`, `"settings":{"color":"blue"}`, `"replicas":3`} {
			assert.Contains(t, string(params), want)
		}
		assert.Equal(t, "user:default/lucia.fernandez", task.CreatedBy)

		home := text(lucia.get("/").body)
		assert.Contains(t, home, "Your recent tasks hello-service completed")
		index := lucia.get("/create")
		assert.Contains(t, text(index.body), "Your recent tasks")
		assert.Contains(t, index.body, `href="`+taskURL+`"`)

		frag := lucia.get(taskURL + "?fragment=1")
		assert.NotContains(t, frag.body, "<html")
		res = lucia.post(taskURL+"/cancel", nil)
		assert.Equal(t, http.StatusConflict, res.status, "an ended task cannot be cancelled")
		res = lucia.post(taskURL+"/retry", nil)
		assert.Equal(t, http.StatusConflict, res.status, "only failed or cancelled tasks run again")
	})

	t.Run("OwnersOnlyTemplates", func(t *testing.T) {
		page := lucia.get("/create/templates/default/platform-only")
		requireOK(t, page)
		assert.Contains(t, text(page.body), "You cannot run this template: not allowed to scaffolder.template.run")
		assert.Regexp(t, `<button type="submit" class="button primary" disabled>Create</button>`, page.body)
		res := lucia.post("/create/templates/default/platform-only", url.Values{"name": {"x"}, "owner": {"group:default/payments-team"}})
		assert.Equal(t, http.StatusForbidden, res.status)
	})

	t.Run("UnknownTemplatesAndTasks", func(t *testing.T) {
		assert.Equal(t, http.StatusNotFound, lucia.get("/create/templates/default/nope").status)
		assert.Equal(t, http.StatusNotFound, lucia.get("/create/tasks/nope").status)
		assert.Equal(t, http.StatusNotFound, lucia.get("/create/elsewhere").status)
		assert.Equal(t, http.StatusNotFound, lucia.get("/create/templates/default/payment-service").status, "a component is not a template")
	})
}

func TestCreateWithoutAScaffolderListsTemplatesOnly(t *testing.T) {
	p := mustPortal(t, nil)
	page := p.guest().get("/create")
	requireOK(t, page)
	assert.Contains(t, text(page.body), "Not configured yet")
	assert.Contains(t, links(page.body, "Hello service"), "/catalog/default/template/hello-service")
	assert.NotRegexp(t, regexp.MustCompile(`/create/templates/`), page.body)
}
