package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/config"
)

const (
	devClientKey  = "dev-client-key-0123456789"
	prodServerKey = "prod-server-key-0123456789"
)

// runFlagsMain starts a portal with BillPay's seed flags and keys for dev and production.
func runFlagsMain(t *testing.T, mutate func(*config.Config)) *Main {
	t.Helper()
	seed, err := filepath.Abs("../../flags")
	require.NoError(t, err)
	return MustRunMain(t, func(c *config.Config) {
		c.Flags.SeedDir = seed
		c.Flags.Environments = []config.FlagEnvironment{
			{Name: "dev", ClientKeys: []string{devClientKey}},
			{Name: "staging"},
			{Name: "production", Protected: true, ServerKeys: []string{prodServerKey}},
		}
		c.Flags.PollInterval = config.Duration(50 * time.Millisecond)
		if mutate != nil {
			mutate(c)
		}
	})
}

type httpResult struct {
	status int
	header http.Header
	body   []byte
}

func (r httpResult) json(t *testing.T) map[string]any {
	t.Helper()
	var out map[string]any
	require.NoError(t, json.Unmarshal(r.body, &out), "body: %s", r.body)
	return out
}

func call(t *testing.T, method, url, body string, headers ...string) httpResult {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return httpResult{status: resp.StatusCode, header: resp.Header, body: data}
}

func TestOFREPProtocol(t *testing.T) {
	m := runFlagsMain(t, func(c *config.Config) { c.Auth.Guest = true })
	single := func(key, body string, headers ...string) httpResult {
		return call(t, http.MethodPost, m.URL()+"/ofrep/v1/evaluate/flags/"+key, body, append([]string{"Content-Type", "application/json"}, headers...)...)
	}
	bulk := func(body string, headers ...string) httpResult {
		return call(t, http.MethodPost, m.URL()+"/ofrep/v1/evaluate/flags", body, append([]string{"Content-Type", "application/json"}, headers...)...)
	}

	t.Run("a success carries key, reason, variant, value and metadata, and never an errorCode", func(t *testing.T) {
		r := single("payment-history-page-size", `{"context":{"targetingKey":"u1"}}`)
		require.Equal(t, http.StatusOK, r.status)
		require.Equal(t, "application/json", r.header.Get("Content-Type"))
		got := r.json(t)
		require.Equal(t, "payment-history-page-size", got["key"])
		require.Equal(t, "STATIC", got["reason"])
		require.Equal(t, "default", got["variant"])
		require.Contains(t, string(r.body), `"value":25`, "integers stay JSON integers")
		require.NotContains(t, got, "errorCode")
		md := got["metadata"].(map[string]any)
		require.Equal(t, "group:default/payments-team", md["owner"])
		require.Equal(t, "billpay-dev", md["flagSetId"], "set metadata under flag metadata")
	})

	t.Run("targeting reads the context", func(t *testing.T) {
		r := single("payment-provider", `{"context":{"targetingKey":"u1","country":"BR"}}`)
		require.Equal(t, "TARGETING_MATCH", r.json(t)["reason"])
		require.Equal(t, "adyen", r.json(t)["value"])
		r = single("payment-provider", `{"context":{"country":"ES"}}`)
		require.Equal(t, "DEFAULT", r.json(t)["reason"], "null from the rule falls back to the default variant")
		require.Equal(t, "stripe", r.json(t)["value"])
	})

	t.Run("a disabled flag succeeds with reason DISABLED and no value", func(t *testing.T) {
		r := single("admin-user-search-v2", `{}`, "X-API-Key", prodServerKey)
		require.Equal(t, http.StatusOK, r.status)
		got := r.json(t)
		require.Equal(t, "DISABLED", got["reason"])
		require.NotContains(t, got, "value", "absent, not null: the client's code default applies")
		require.NotContains(t, got, "variant")
	})

	t.Run("an unknown flag is 404 FLAG_NOT_FOUND with the key", func(t *testing.T) {
		r := single("no-such-flag", `{"context":{}}`)
		require.Equal(t, http.StatusNotFound, r.status)
		got := r.json(t)
		require.Equal(t, "no-such-flag", got["key"])
		require.Equal(t, "FLAG_NOT_FOUND", got["errorCode"])
		require.NotEmpty(t, got["errorDetails"])
	})

	t.Run("a malformed context is 400 INVALID_CONTEXT, in any content type or none", func(t *testing.T) {
		for _, body := range []string{`{"context": 5}`, `not json`, `{"context":{"targetingKey": 7}}`} {
			r := call(t, http.MethodPost, m.URL()+"/ofrep/v1/evaluate/flags/refunds-enabled", body)
			require.Equal(t, http.StatusBadRequest, r.status, body)
			require.Equal(t, "INVALID_CONTEXT", r.json(t)["errorCode"], body)
			require.Equal(t, "refunds-enabled", r.json(t)["key"])
		}
		r := call(t, http.MethodPost, m.URL()+"/ofrep/v1/evaluate/flags", `[1]`)
		require.Equal(t, http.StatusBadRequest, r.status)
		require.Equal(t, "INVALID_CONTEXT", r.json(t)["errorCode"])
		r = call(t, http.MethodPost, m.URL()+"/ofrep/v1/evaluate/flags/refunds-enabled", "")
		require.Equal(t, http.StatusOK, r.status, "an empty body is an empty context, as flagd allows")
	})

	t.Run("a rule that names no variant is a 400 GENERAL error", func(t *testing.T) {
		r := call(t, http.MethodPut, m.URL()+"/api/flags/environments/dev/flags/broken-rule",
			`{"state":"ENABLED","variants":{"a":true},"defaultVariant":"a","targeting":{"var":"pick"}}`,
			"Content-Type", "application/json", "Authorization", "Bearer "+testToken)
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		r = single("broken-rule", `{"context":{"pick":"zzz"}}`)
		require.Equal(t, http.StatusBadRequest, r.status)
		require.Equal(t, "GENERAL", r.json(t)["errorCode"])
		require.NotContains(t, r.json(t), "reason")
	})

	t.Run("keys select environments, in X-API-Key or as a bearer token", func(t *testing.T) {
		dev := single("new-checkout-flow", `{"context":{"targetingKey":"u1"}}`, "X-API-Key", devClientKey).json(t)
		prod := single("new-checkout-flow", `{"context":{"targetingKey":"u1"}}`, "Authorization", "Bearer "+prodServerKey).json(t)
		require.Equal(t, "billpay-dev", dev["metadata"].(map[string]any)["flagSetId"])
		require.Equal(t, "billpay-production", prod["metadata"].(map[string]any)["flagSetId"])
		r := single("new-checkout-flow", `{}`, "X-API-Key", "not-a-key-at-all-000")
		require.Equal(t, http.StatusUnauthorized, r.status)
		require.Empty(t, r.body, "OFREP defines no body for 401")
	})

	t.Run("bulk answers every flag sorted, with an ETag over the evaluations", func(t *testing.T) {
		r := bulk(`{"context":{"targetingKey":"u1","plan":"free"}}`)
		require.Equal(t, http.StatusOK, r.status)
		etag := r.header.Get("ETag")
		require.Regexp(t, `^"[0-9a-f]{32}"$`, etag)
		got := r.json(t)
		items := got["flags"].([]any)
		require.GreaterOrEqual(t, len(items), 8)
		var keys []string
		for _, it := range items {
			keys = append(keys, it.(map[string]any)["key"].(string))
		}
		require.IsIncreasing(t, keys)
		require.Equal(t, "billpay-dev", got["metadata"].(map[string]any)["flagSetId"])
		streams := got["eventStreams"].([]any)
		require.Len(t, streams, 1)
		require.Equal(t, "sse", streams[0].(map[string]any)["type"])

		again := bulk(`{"context":{"targetingKey":"u1","plan":"free"}}`, "If-None-Match", etag)
		require.Equal(t, http.StatusNotModified, again.status)
		require.Empty(t, again.body)
		weak := bulk(`{"context":{"targetingKey":"u1","plan":"free"}}`, "If-None-Match", `"other", W/`+etag)
		require.Equal(t, http.StatusNotModified, weak.status, "If-None-Match compares weakly over a list")

		// The web provider keeps its ETag when only an attribute changes: results that differ must not be a 304.
		brazil := bulk(`{"context":{"targetingKey":"u1","plan":"free","country":"BR"}}`, "If-None-Match", etag)
		require.Equal(t, http.StatusOK, brazil.status)
		require.NotEqual(t, etag, brazil.header.Get("ETag"))

		slash := call(t, http.MethodPost, m.URL()+"/ofrep/v1/evaluate/flags/", `{"context":{"targetingKey":"u1","plan":"free"}}`, "Content-Type", "application/json")
		require.Equal(t, http.StatusOK, slash.status, "the trailing slash flagd accepts")
		require.Equal(t, etag, slash.header.Get("ETag"))
	})

	t.Run("a change event's re-fetch is never downgraded to 304", func(t *testing.T) {
		r := bulk(`{"context":{"targetingKey":"u2"}}`)
		etag := r.header.Get("ETag")
		again := call(t, http.MethodPost, m.URL()+"/ofrep/v1/evaluate/flags?flagConfigEtag=stale-config&flagConfigLastModified=1", `{"context":{"targetingKey":"u2"}}`,
			"Content-Type", "application/json", "If-None-Match", etag)
		require.Equal(t, http.StatusOK, again.status)
	})

	t.Run("CORS lets browser apps on other origins call with keys and read the ETag", func(t *testing.T) {
		r := call(t, http.MethodOptions, m.URL()+"/ofrep/v1/evaluate/flags", "",
			"Origin", "https://pay.billpay.example", "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "content-type,x-api-key,if-none-match")
		require.Equal(t, http.StatusNoContent, r.status)
		require.Equal(t, "*", r.header.Get("Access-Control-Allow-Origin"))
		allowed := strings.ToLower(r.header.Get("Access-Control-Allow-Headers"))
		for _, h := range []string{"content-type", "authorization", "x-api-key", "if-none-match"} {
			require.Contains(t, allowed, h)
		}
		post := bulk(`{}`, "Origin", "https://pay.billpay.example")
		require.Equal(t, "*", post.header.Get("Access-Control-Allow-Origin"))
		require.Contains(t, post.header.Get("Access-Control-Expose-Headers"), "ETag")
		require.Contains(t, post.header.Get("Access-Control-Expose-Headers"), "Retry-After")
	})

	t.Run("the event stream announces changes to its environment", func(t *testing.T) {
		r := bulk(`{"context":{"targetingKey":"u1"}}`, "X-API-Key", devClientKey)
		uri := r.json(t)["eventStreams"].([]any)[0].(map[string]any)["endpoint"].(map[string]any)["requestUri"].(string)
		events := openSSE(t, m.URL()+uri, "")
		toggle := call(t, http.MethodPost, m.URL()+"/api/flags/environments/dev/flags/refunds-enabled/disable", "", "Authorization", "Bearer "+testToken)
		require.Equal(t, http.StatusOK, toggle.status, "%s", toggle.body)
		ev := events.next(t, 10*time.Second)
		require.Equal(t, "message", ev.event)
		var data map[string]any
		require.NoError(t, json.Unmarshal([]byte(ev.data), &data))
		require.Equal(t, "refetchEvaluation", data["type"])
		require.NotEmpty(t, data["etag"])
		require.NotEmpty(t, ev.id)

		after := bulk(`{"context":{"targetingKey":"u1"}}`, "X-API-Key", devClientKey, "If-None-Match", r.header.Get("ETag"))
		require.Equal(t, http.StatusOK, after.status, "the change reaches the evaluation")
		require.NotEqual(t, r.header.Get("ETag"), after.header.Get("ETag"))

		// A client reconnecting with an older Last-Event-ID is told to refetch at once.
		replay := openSSE(t, m.URL()+uri, "0")
		require.Equal(t, "message", replay.next(t, 5*time.Second).event)

		bad := call(t, http.MethodGet, m.URL()+"/ofrep/v1/events?token=dev.x.1.forged", "")
		require.Equal(t, http.StatusUnauthorized, bad.status)
	})

	t.Run("unchanged flags after an edit elsewhere keep their 304", func(t *testing.T) {
		r := bulk(`{"context":{"targetingKey":"u3"}}`, "X-API-Key", prodServerKey)
		etag := r.header.Get("ETag")
		put := call(t, http.MethodPut, m.URL()+"/api/flags/environments/dev/flags/unrelated", boolFlagJSON,
			"Content-Type", "application/json", "Authorization", "Bearer "+testToken)
		require.Equal(t, http.StatusCreated, put.status)
		again := bulk(`{"context":{"targetingKey":"u3"}}`, "X-API-Key", prodServerKey, "If-None-Match", etag)
		require.Equal(t, http.StatusNotModified, again.status, "a dev change does not invalidate production")
	})
}

const boolFlagJSON = `{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off"}`

func TestOFREPRateLimit(t *testing.T) {
	m := runFlagsMain(t, func(c *config.Config) {
		c.Flags.RateLimit = config.FlagRateLimit{PerSecond: 0.5, Burst: 2}
	})
	var last httpResult
	for range 3 {
		last = call(t, http.MethodPost, m.URL()+"/ofrep/v1/evaluate/flags/refunds-enabled", `{}`, "X-API-Key", devClientKey)
	}
	require.Equal(t, http.StatusTooManyRequests, last.status)
	require.Regexp(t, `^[1-9][0-9]*$`, last.header.Get("Retry-After"), "whole seconds, which both providers parse")
	other := call(t, http.MethodPost, m.URL()+"/ofrep/v1/evaluate/flags/refunds-enabled", `{}`, "X-API-Key", prodServerKey)
	require.Equal(t, http.StatusOK, other.status, "limits are per key")
}

func TestFlagsManagementAPI(t *testing.T) {
	m := runFlagsMain(t, func(c *config.Config) { c.Auth.Guest = false })
	auth := []string{"Authorization", "Bearer " + testToken, "Content-Type", "application/json"}
	base := m.URL() + "/api/flags/environments"

	t.Run("seed flags are loaded on first start", func(t *testing.T) {
		var envs []map[string]any
		require.Equal(t, http.StatusOK, apiGet(t, m, "/api/flags/environments", &envs))
		require.Len(t, envs, 3)
		for _, e := range envs {
			require.EqualValues(t, 8, e["flags"], e["name"])
		}
		require.Equal(t, true, envs[2]["protected"])
	})

	t.Run("mutations need credentials when guest access is off", func(t *testing.T) {
		r := call(t, http.MethodPut, base+"/dev/flags/x", boolFlagJSON, "Content-Type", "application/json")
		require.Equal(t, http.StatusUnauthorized, r.status)
		r = call(t, http.MethodPost, m.URL()+"/ofrep/v1/evaluate/flags/refunds-enabled", `{}`)
		require.Equal(t, http.StatusUnauthorized, r.status, "no guest environment without guest access")
	})

	t.Run("optimistic concurrency with ETag and If-Match", func(t *testing.T) {
		created := call(t, http.MethodPut, base+"/staging/flags/checkout-banner", boolFlagJSON, append(auth, "If-None-Match", "*")...)
		require.Equal(t, http.StatusCreated, created.status, "%s", created.body)
		require.Equal(t, "/api/flags/environments/staging/flags/checkout-banner", created.header.Get("Location"))
		etag := created.header.Get("ETag")
		require.NotEmpty(t, etag)
		dup := call(t, http.MethodPut, base+"/staging/flags/checkout-banner", boolFlagJSON, append(auth, "If-None-Match", "*")...)
		require.Equal(t, http.StatusPreconditionFailed, dup.status)

		updated := call(t, http.MethodPost, base+"/staging/flags/checkout-banner/enable", "", append(auth, "If-Match", etag)...)
		require.Equal(t, http.StatusOK, updated.status)
		changed := call(t, http.MethodPut, base+"/staging/flags/checkout-banner",
			`{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"}`, append(auth, "If-Match", etag)...)
		require.Equal(t, http.StatusOK, changed.status, "enabling an enabled flag changed nothing, so the ETag still matches")
		stale := call(t, http.MethodDelete, base+"/staging/flags/checkout-banner", "", append(auth, "If-Match", etag)...)
		require.Equal(t, http.StatusPreconditionFailed, stale.status)
		require.Contains(t, stale.json(t)["detail"], changed.header.Get("ETag"), "the error tells the current ETag")
		gone := call(t, http.MethodDelete, base+"/staging/flags/checkout-banner", "", append(auth, "If-Match", changed.header.Get("ETag"))...)
		require.Equal(t, http.StatusNoContent, gone.status)
	})

	t.Run("invalid flags are refused naming the field", func(t *testing.T) {
		r := call(t, http.MethodPut, base+"/dev/flags/bad", `{"state":"ENABLED","variants":{"a":1,"b":"x"}}`, auth...)
		require.Equal(t, http.StatusBadRequest, r.status)
		require.Contains(t, string(r.body), `flag \"bad\": variant`)
		r = call(t, http.MethodPut, base+"/nowhere/flags/x", boolFlagJSON, auth...)
		require.Equal(t, http.StatusNotFound, r.status)
		r = call(t, http.MethodPost, base+"/dev/import", `{"flags":{"a":{"state":"ENABLED","variants":{}}}}`, auth...)
		require.Equal(t, http.StatusBadRequest, r.status)
		require.Contains(t, string(r.body), `flag \"a\": variants must name at least one variant`)
	})

	t.Run("export, import and promotion", func(t *testing.T) {
		exp := call(t, http.MethodGet, base+"/production/export", "", auth...)
		require.Equal(t, http.StatusOK, exp.status)
		seed, err := os.ReadFile("../../flags/production.flagd.json")
		require.NoError(t, err)
		require.JSONEq(t, string(seed), string(exp.body))

		imp := call(t, http.MethodPost, base+"/staging/import?mode=merge", `{"flags":{"extra":`+boolFlagJSON+`}}`, auth...)
		require.Equal(t, http.StatusOK, imp.status, "%s", imp.body)
		require.Equal(t, []any{"extra"}, imp.json(t)["created"])

		cp := call(t, http.MethodPost, base+"/staging/flags/extra/copy", `{"to":"production"}`, auth...)
		require.Equal(t, http.StatusCreated, cp.status, "%s", cp.body)
		r := call(t, http.MethodPost, m.URL()+"/ofrep/v1/evaluate/flags/extra", `{}`, "X-API-Key", prodServerKey)
		require.Equal(t, http.StatusOK, r.status, "the promoted flag is served at once")
	})

	t.Run("the audit log pages backwards per environment and per flag", func(t *testing.T) {
		var page struct {
			Items []map[string]any `json:"items"`
			Next  string           `json:"next"`
		}
		require.Equal(t, http.StatusOK, apiGet(t, m, "/api/flags/environments/production/audit?limit=3", &page))
		require.Len(t, page.Items, 3)
		require.Equal(t, "extra", page.Items[0]["flagKey"])
		require.Equal(t, "copy", page.Items[0]["action"])
		require.Equal(t, "test", page.Items[0]["actor"])
		require.NotEmpty(t, page.Next)
		var older struct {
			Items []map[string]any `json:"items"`
		}
		apiGet(t, m, "/api/flags/environments/production/audit?limit=3&before="+page.Next, &older)
		require.Len(t, older.Items, 3)
		require.Less(t, older.Items[0]["id"].(float64), page.Items[2]["id"].(float64))

		var flagLog struct {
			Items []map[string]any `json:"items"`
		}
		apiGet(t, m, "/api/flags/environments/staging/flags/checkout-banner/audit", &flagLog)
		var actions []string
		for _, e := range flagLog.Items {
			actions = append(actions, e["action"].(string))
		}
		require.Equal(t, []string{"delete", "update", "create"}, actions, "the no-op enable is not recorded")
	})

	t.Run("the change feed streams audit entries and replays from Last-Event-ID", func(t *testing.T) {
		feed := openSSEAuth(t, m.URL()+"/api/flags/events?environment=dev", "", testToken)
		r := call(t, http.MethodPut, base+"/dev/flags/feed-test", boolFlagJSON, auth...)
		require.Equal(t, http.StatusCreated, r.status)
		ev := feed.next(t, 10*time.Second)
		require.Equal(t, "change", ev.event)
		var data struct {
			Environment string           `json:"environment"`
			Entries     []map[string]any `json:"entries"`
		}
		require.NoError(t, json.Unmarshal([]byte(ev.data), &data))
		require.Equal(t, "dev", data.Environment)
		require.Equal(t, "feed-test", data.Entries[0]["flagKey"])
		require.Equal(t, "create", data.Entries[0]["action"])

		id := ev.id
		r = call(t, http.MethodDelete, base+"/dev/flags/feed-test", "", auth...)
		require.Equal(t, http.StatusNoContent, r.status)
		replay := openSSEAuth(t, m.URL()+"/api/flags/events", id, testToken)
		missed := replay.next(t, 10*time.Second)
		require.Contains(t, missed.data, `"action":"delete"`)
		require.NotContains(t, missed.data, `"action":"create"`, "only what came after Last-Event-ID")
	})
}

func TestFlagsCLI(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "portal.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte("dataDir: "+filepath.Join(dir, "data")+"\n"), 0o600))
	var out, errOut bytes.Buffer

	require.Equal(t, 0, run(t.Context(), []string{"flags", "validate", "../../flags/dev.flagd.json", "../../flags/production.flagd.json"}, &out, &errOut), errOut.String())
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"flags":{"x":{"state":"ENABLED","variants":{"a":1},"defaultVariant":"b"},"y":{"variants":{"a":1}}}}`), 0o600))
	errOut.Reset()
	require.Equal(t, 1, run(t.Context(), []string{"flags", "validate", bad}, &out, &errOut))
	require.Contains(t, errOut.String(), bad+`: flag "x": defaultVariant "b" is not one of its variants`)
	require.Contains(t, errOut.String(), bad+`: flag "y": state is required`)

	out.Reset()
	errOut.Reset()
	require.Equal(t, 0, run(t.Context(), []string{"flags", "import", "--config", cfgPath, "staging", "../../flags/staging.flagd.json"}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "staging is now at version 1: 8 created")
	out.Reset()
	require.Equal(t, 0, run(t.Context(), []string{"flags", "export", "--config", cfgPath, "staging"}, &out, &errOut), errOut.String())
	seed, err := os.ReadFile("../../flags/staging.flagd.json")
	require.NoError(t, err)
	require.JSONEq(t, string(seed), out.String())

	errOut.Reset()
	require.Equal(t, 1, run(t.Context(), []string{"flags", "import", "--config", cfgPath, "staging", bad}, &out, &errOut))
	require.Contains(t, errOut.String(), `defaultVariant "b"`)
	require.Equal(t, 1, run(t.Context(), []string{"flags", "export", "--config", cfgPath, "qa"}, &out, &errOut))
	require.Equal(t, 2, run(t.Context(), []string{"flags", "export"}, &out, &errOut))
}

type sseEvent struct{ id, event, data string }

type sseStream struct {
	events chan sseEvent
}

func openSSE(t *testing.T, url, lastEventID string) *sseStream {
	return openSSEAuth(t, url, lastEventID, "")
}

// openSSEAuth reads a server-sent-events stream in the background until the test ends.
func openSSEAuth(t *testing.T, url, lastEventID, token string) *sseStream {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	s := &sseStream{events: make(chan sseEvent, 16)}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.data != "" || ev.event != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				ev.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data += strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return s
}

func (s *sseStream) next(t *testing.T, timeout time.Duration) sseEvent {
	t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-time.After(timeout):
		t.Fatalf("no event within %s", timeout)
		return sseEvent{}
	}
}
