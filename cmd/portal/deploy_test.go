package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/sivchari/kumo"
	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/config"
	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/kube"
	"github.com/billpay/portal/internal/kube/kubetest"
)

// fakeECR serves ECR on loopback (kumo, driven through the real SDK), points the portal's AWS configuration at it,
// and pushes one image manifest per tag to repo; it returns the client and the tags' digests.
func fakeECR(t *testing.T, repo string, tags ...string) (*awsecr.Client, []string) {
	t.Helper()
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ENDPOINT_URL_ECR", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAPORTAL0000000001")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "portal-secret")
	t.Setenv("AWS_REGION", "us-east-1")
	client := awsecr.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIAPORTAL0000000001", "portal-secret", "")})
	// kumo keeps its state per process, so another test of this package may have made the repository already.
	var exists *ecrtypes.RepositoryAlreadyExistsException
	if _, err := client.CreateRepository(t.Context(), &awsecr.CreateRepositoryInput{RepositoryName: aws.String(repo)}); !errors.As(err, &exists) {
		require.NoError(t, err)
	}
	var digests []string
	for i, tag := range tags {
		// Each tag gets a manifest of its own, so tags never share a digest.
		manifest := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"size":%d},"layers":[]}`, i)
		put, err := client.PutImage(t.Context(), &awsecr.PutImageInput{RepositoryName: aws.String(repo), ImageTag: aws.String(tag), ImageManifest: aws.String(manifest)})
		if err == nil {
			digests = append(digests, aws.ToString(put.Image.ImageId.ImageDigest))
			continue
		}
		var pushed *ecrtypes.ImageAlreadyExistsException
		require.ErrorAs(t, err, &pushed)
		got, err := client.BatchGetImage(t.Context(), &awsecr.BatchGetImageInput{RepositoryName: aws.String(repo),
			ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String(tag)}}})
		require.NoError(t, err)
		require.Len(t, got.Images, 1)
		digests = append(digests, aws.ToString(got.Images[0].ImageId.ImageDigest))
	}
	return client, digests
}

// billpayNamespace creates the namespace BillPay's services deploy to.
func billpayNamespace(t *testing.T, kenv *kubetest.Env) {
	t.Helper()
	admin, err := kube.Connector{}.Connect(kenv.Endpoint("admin"))
	require.NoError(t, err)
	_, err = admin.Apply(t.Context(), []deploy.Object{{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "billpay"}}}, false)
	require.NoError(t, err)
}

// mustKubeEnv starts a control plane of the test's own (skipped outside CI when the binaries are not built).
func mustKubeEnv(t *testing.T) *kubetest.Env {
	t.Helper()
	env, err := kubetest.Start(kubetest.Options{})
	if errors.Is(err, kubetest.ErrNotBuilt) && os.Getenv("CI") != "true" {
		t.Skipf("skipping: %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(env.Stop)
	return env
}

// sseEvents reads a server-sent-events stream until it ends, returning each event's name and data.
func sseEvents(t *testing.T, url string, headers ...string) [][2]string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{Timeout: 90 * time.Second}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	var out [][2]string
	var name, data string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "" && name != "":
			out = append(out, [2]string{name, data})
			name, data = "", ""
		}
	}
	return out
}

// TestDeployOverHTTP runs BillPay's portal with two environments on a real control plane (reached through a
// kubeconfig) and ECR on kumo: a deploy followed over server-sent events, the workloads in Backstage's shape, and a
// production deploy that only a second owner can approve.
func TestDeployOverHTTP(t *testing.T) {
	kenv := mustKubeEnv(t)
	ecrClient, digests := fakeECR(t, "payment-service", "1.0.0")
	digest := digests[0]
	billpayNamespace(t, kenv)

	values := t.TempDir()
	for _, env := range []string{"dev", "prod"} {
		require.NoError(t, os.WriteFile(filepath.Join(values, env+".yaml"), []byte("defaults: {replicas: 1, progressDeadlineSeconds: 30}\n"), 0o644))
	}
	m := billpayMain(t, func(c *config.Config) {
		c.Catalog.Locations = append(c.Catalog.Locations, fileLocation(t, "../../templates/all.yaml"))
		c.Deploy.ValuesDir = values
		c.Deploy.Poll = config.Duration(100 * time.Millisecond)
		c.Deploy.Environments = []config.DeployEnvironment{
			{Name: "dev", Region: "us-east-1", Account: "111111111111", Cluster: "local", Namespace: "billpay", Kubeconfig: kenv.Kubeconfig},
			{Name: "prod", Region: "us-east-1", Account: "111111111111", Cluster: "local", Namespace: "billpay", Kubeconfig: kenv.Kubeconfig,
				Protected: true, RequireApproval: true},
		}
	})
	lucia, luciaCSRF := signIn(t, m, "user:default/lucia.fernandez") // payments-team, owns payment-service
	martin, martinCSRF := signIn(t, m, "user:default/martin.gomez")  // payments-team too
	sofia, sofiaCSRF := signIn(t, m, "user:default/sofia.ramirez")   // identity-team
	api := m.URL() + "/api/deploy"

	var devRelease map[string]any
	t.Run("DeployFollowedOverServerSentEvents", func(t *testing.T) {
		r := call(t, http.MethodPost, api+"/releases", `{"component":"component:default/payment-service","environment":"dev","tag":"1.0.0"}`,
			withSession(lucia, luciaCSRF)...)
		require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
		devRelease = r.json(t)
		require.Equal(t, "queued", devRelease["status"])
		require.Equal(t, digest, devRelease["image"].(map[string]any)["digest"])

		evs := sseEvents(t, fmt.Sprintf("%s/releases/%v/events/stream", api, devRelease["id"]), "Cookie", "portal_session="+lucia)
		require.NotEmpty(t, evs)
		last := evs[len(evs)-1]
		require.Equal(t, "release", last[0])
		var done map[string]any
		require.NoError(t, json.Unmarshal([]byte(last[1]), &done))
		require.Equal(t, "succeeded", done["status"], "%v", done["message"])
		var reasons []string
		for _, e := range evs[:len(evs)-1] {
			var ev map[string]any
			require.NoError(t, json.Unmarshal([]byte(e[1]), &ev))
			reasons = append(reasons, ev["reason"].(string))
		}
		require.Subset(t, reasons, []string{"Requested", "Applying", "Applied", "Succeeded"})
		count := map[string]int{}
		for _, r := range reasons {
			count[r]++
		}
		require.Equal(t, 1, count["Applying"], "one worker runs a release: %v", reasons)
		require.Equal(t, 1, count["Succeeded"], "%v", reasons)
	})

	t.Run("ErrImageNotInECR", func(t *testing.T) {
		r := call(t, http.MethodPost, api+"/releases", `{"component":"payment-service","environment":"dev","tag":"9.9.9"}`, withSession(lucia, luciaCSRF)...)
		require.Equal(t, http.StatusNotFound, r.status, "%s", r.body)
		require.Contains(t, string(r.body), "image payment-service:9.9.9 not found in ECR repository payment-service")
	})

	t.Run("ErrNotAnOwner", func(t *testing.T) {
		r := call(t, http.MethodPost, api+"/releases", `{"component":"payment-service","environment":"dev","tag":"1.0.0"}`, withSession(sofia, sofiaCSRF)...)
		require.Equal(t, http.StatusForbidden, r.status, "%s", r.body)
		require.Contains(t, string(r.body), "payments-team")
	})

	t.Run("WorkloadsInBackstageShape", func(t *testing.T) {
		require.Eventually(t, func() bool {
			r := call(t, http.MethodGet, fmt.Sprintf("%s/releases/%v", api, devRelease["id"]), "", "Cookie", "portal_session="+lucia)
			return strings.Contains(string(r.body), `"status":"succeeded"`)
		}, 60*time.Second, 200*time.Millisecond)
		r := call(t, http.MethodGet, m.URL()+"/api/kubernetes/entities/component/default/payment-service?environment=dev", "", "Cookie", "portal_session="+lucia)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var got deploy.ObjectsByEntity
		require.NoError(t, json.Unmarshal(r.body, &got))
		require.Len(t, got.Items, 1)
		require.Equal(t, "dev", got.Items[0].Cluster.Name)
		byType := map[string][]deploy.Object{}
		for _, fr := range got.Items[0].Resources {
			byType[fr.Type] = fr.Resources
		}
		require.Len(t, byType["pods"], 1)
		require.Equal(t, "Running", byType["pods"][0].String("status.phase"))
		require.Len(t, byType["deployments"], 1)

		// Backstage's own route, with the entity in the body.
		r = call(t, http.MethodPost, m.URL()+"/api/kubernetes/services/payment-service",
			`{"entity":{"kind":"Component","metadata":{"name":"payment-service","annotations":{"backstage.io/kubernetes-namespace":"billpay"}}}}`,
			withSession(lucia, luciaCSRF)...)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		require.Contains(t, string(r.body), `"type":"pods"`)
		require.Contains(t, string(r.body), `"cluster":{"name":"dev"`)
	})

	t.Run("ProductionNeedsASecondOwner", func(t *testing.T) {
		r := call(t, http.MethodPost, api+"/releases", `{"component":"payment-service","environment":"prod","tag":"1.0.0"}`, withSession(lucia, luciaCSRF)...)
		require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
		rel := r.json(t)
		require.Equal(t, "pending_approval", rel["status"])
		approve := fmt.Sprintf("%s/releases/%v/approve", api, rel["id"])

		r = call(t, http.MethodPost, approve, "", withSession(lucia, luciaCSRF)...)
		require.Equal(t, http.StatusForbidden, r.status, "%s", r.body)
		require.Contains(t, string(r.body), "second owner")
		r = call(t, http.MethodPost, approve, "", withSession(sofia, sofiaCSRF)...)
		require.Equal(t, http.StatusForbidden, r.status, "%s", r.body)
		r = call(t, http.MethodPost, approve, "", withSession(martin, martinCSRF)...)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		require.Equal(t, "user:default/martin.gomez", r.json(t)["approvedBy"])

		evs := sseEvents(t, fmt.Sprintf("%s/releases/%v/events/stream", api, rel["id"]), "Cookie", "portal_session="+lucia)
		require.Contains(t, evs[len(evs)-1][1], `"status":"succeeded"`)
	})

	t.Run("ReleasesListedAndAudited", func(t *testing.T) {
		r := call(t, http.MethodGet, api+"/releases?component=payment-service", "", "Cookie", "portal_session="+lucia)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		list := r.json(t)
		require.EqualValues(t, 2, list["total"])
		r = call(t, http.MethodGet, fmt.Sprintf("%s/releases/%v", api, devRelease["id"]), "", "Cookie", "portal_session="+lucia)
		require.Equal(t, http.StatusOK, r.status)
		require.Len(t, r.json(t)["objects"], 4, "ServiceAccount, Service, Deployment, PodDisruptionBudget")
		r = call(t, http.MethodGet, api+"/environments", "", "Cookie", "portal_session="+lucia)
		require.Equal(t, http.StatusOK, r.status)
		require.Contains(t, string(r.body), `"requireApproval":true`)
	})

	t.Run("TemplateDeploysAndFollowsTheRollout", func(t *testing.T) {
		_, err := ecrClient.PutImage(t.Context(), &awsecr.PutImageInput{RepositoryName: aws.String("payment-service"), ImageTag: aws.String("1.1.0"),
			ImageManifest: aws.String(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"size":9},"layers":[]}`)})
		require.NoError(t, err)
		waitForTemplates(t, m, "deploy-component")
		task := func(cookie, csrf, tag string) (int, []byte) {
			body := fmt.Sprintf(`{"templateRef":"template:default/deploy-component","values":{"component":"component:default/payment-service","environment":"dev","tag":%q}}`, tag)
			r := call(t, http.MethodPost, m.URL()+"/api/scaffolder/v2/tasks", body, withSession(cookie, csrf)...)
			return r.status, r.body
		}

		status, body := task(lucia, luciaCSRF, "1.1.0")
		require.Equal(t, http.StatusCreated, status, "%s", body)
		var created struct{ ID string }
		require.NoError(t, json.Unmarshal(body, &created))
		evs := follow(t, m, created.ID, nil, "")
		log := messagesOf(evs)
		waitTaskStatus(t, m, created.ID, "completed", 10*time.Second)
		require.Contains(t, log, "Normal] Succeeded", "the step logs the release's events as they happen")
		require.Contains(t, log, "Release ")
		out, err := json.Marshal(evs[len(evs)-1].data.Body.Output)
		require.NoError(t, err)
		require.Contains(t, string(out), "/deploys/releases/", "the output links to the release")
		require.Contains(t, string(out), "is **succeeded** in\\ndev")

		r := call(t, http.MethodGet, api+"/releases?component=payment-service&environment=dev", "", "Cookie", "portal_session="+lucia)
		var list struct {
			Items []deploy.Release `json:"items"`
		}
		require.NoError(t, json.Unmarshal(r.body, &list))
		require.Equal(t, "1.1.0", list.Items[0].Image.Tag, "the template's release is the newest")
		require.Equal(t, deploy.StatusSucceeded, list.Items[0].Status)
		require.Equal(t, "user:default/lucia.fernandez", list.Items[0].RequestedBy, "the task deploys as the person who ran it")

		// Someone outside the owning team may run the template, but its deploy step is refused as they are.
		status, body = task(sofia, sofiaCSRF, "1.1.0")
		require.Equal(t, http.StatusCreated, status, "%s", body)
		require.NoError(t, json.Unmarshal(body, &created))
		refused := follow(t, m, created.ID, nil, "")
		waitTaskStatus(t, m, created.ID, "failed", 10*time.Second)
		require.Contains(t, messagesOf(refused), "you are not a member of group:default/payments-team")

		// A token scoped to running templates cannot deploy through one.
		p, err := m.Auth.AuthenticateRequest(t.Context(), auth.Credentials{Session: lucia})
		require.NoError(t, err)
		_, pat, err := m.Auth.CreateAccessToken(t.Context(), p, auth.NewAccessTokenRequest{Name: "templates only", Scopes: []string{"scaffolder:run"}, ExpiresIn: time.Hour})
		require.NoError(t, err)
		r = call(t, http.MethodPost, m.URL()+"/api/scaffolder/v2/tasks",
			`{"templateRef":"template:default/deploy-component","values":{"component":"payment-service","environment":"dev","tag":"1.1.0"}}`,
			"Authorization", "Bearer "+pat, "Content-Type", "application/json")
		require.Equal(t, http.StatusForbidden, r.status, "%s", r.body)
		require.Contains(t, string(r.body), "deploy:run scope")
	})
}

// TestInfrastructureChangeTemplate runs BillPay's infrastructure-change template with the real tofu: the task plans a
// unit and stores the plan, waits while only the planner has seen it, and finishes once a second member of the
// platform team approves, which applies exactly the stored plan.
func TestInfrastructureChangeTemplate(t *testing.T) {
	bin, err := kubetest.BinDir()
	if errors.Is(err, kubetest.ErrNotBuilt) && os.Getenv("CI") != "true" {
		t.Skipf("skipping: %v", err)
	}
	require.NoError(t, err)
	root := t.TempDir()
	unit := filepath.Join(root, "infra/live/dev/marker")
	require.NoError(t, os.MkdirAll(unit, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(unit, "main.tf"), []byte(`resource "terraform_data" "marker" {
  input = "from-a-template"
}
`), 0o644))
	m := billpayMain(t, func(c *config.Config) {
		c.Catalog.Locations = append(c.Catalog.Locations, fileLocation(t, "../../templates/all.yaml"))
		c.Deploy.Tofu.Root = root
		c.Deploy.Tofu.Binary = filepath.Join(bin, "tofu")
		c.Deploy.Tofu.Owner = "group:default/platform-team"
	})
	waitForTemplates(t, m, "infrastructure-change")
	elena, elenaCSRF := signIn(t, m, "user:default/elena.navarro")
	pablo, pabloCSRF := signIn(t, m, "user:default/pablo.ortega")

	r := call(t, http.MethodPost, m.URL()+"/api/scaffolder/v2/tasks",
		`{"templateRef":"template:default/infrastructure-change","values":{"unit":"infra/live/dev/marker"}}`, withSession(elena, elenaCSRF)...)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	taskID := r.json(t)["id"].(string)

	var run deploy.TofuRun
	require.Eventually(t, func() bool {
		var runs []deploy.TofuRun
		res := call(t, http.MethodGet, m.URL()+"/api/deploy/tofu/runs?unit=infra/live/dev/marker", "", "Cookie", "portal_session="+elena)
		if json.Unmarshal(res.body, &runs) != nil || len(runs) == 0 {
			return false
		}
		run = runs[0]
		return run.Status == deploy.TofuPlanned
	}, 120*time.Second, 200*time.Millisecond, "the task stores a plan")
	require.Equal(t, deploy.PlanSummary{Add: 1}, run.Summary)
	require.Equal(t, "user:default/elena.navarro", run.RequestedBy)
	require.Equal(t, "processing", getTask(t, m, taskID)["status"], "the task waits for the approval")

	approve := fmt.Sprintf("%s/api/deploy/tofu/runs/%d/approve", m.URL(), run.ID)
	res := call(t, http.MethodPost, approve, "", withSession(elena, elenaCSRF)...)
	require.Equal(t, http.StatusForbidden, res.status, "the planner cannot approve: %s", res.body)
	res = call(t, http.MethodPost, approve, "", withSession(pablo, pabloCSRF)...)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)

	evs := follow(t, m, taskID, nil, "")
	waitTaskStatus(t, m, taskID, "completed", 10*time.Second)
	log := messagesOf(evs)
	require.Contains(t, log, "terraform_data.marker will be created", "the plan is shown in the task's log")
	require.Contains(t, log, "Waiting for a second owner to approve plan")
	require.Contains(t, log, "Apply complete! Resources: 1 added")
	out, err := json.Marshal(evs[len(evs)-1].data.Body.Output)
	require.NoError(t, err)
	require.Contains(t, string(out), fmt.Sprintf("/deploys/tofu/%d", run.ID))
	_, err = os.Stat(filepath.Join(unit, "terraform.tfstate"))
	require.NoError(t, err, "the apply wrote the unit's state")
}
