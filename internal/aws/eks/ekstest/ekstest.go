// Package ekstest stands in for the AWS side of EKS in tests, always spoken to through the real aws-sdk-go-v2
// clients and the real token verifier:
//
//   - EKS: an HTTP server speaking EKS's REST-JSON for DescribeCluster, CreateAccessEntry, AssociateAccessPolicy and
//     Create/List/Describe/UpdatePodIdentityAssociation (what kumo lacks), keeping access entries and associations;
//   - STS: GetCallerIdentity as EKS's authenticator calls it with a presigned token URL, answering JSON only when the
//     SigV4 signature verifies against the known secret key;
//   - Webhook: a kube-apiserver token webhook that checks `k8s-aws-v1.` tokens with
//     sigs.k8s.io/aws-iam-authenticator/pkg/token and maps the caller's role to the Kubernetes groups of its access
//     entry, as EKS does.
package ekstest

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"sigs.k8s.io/aws-iam-authenticator/pkg/token"
)

// Cluster is what DescribeCluster returns.
type Cluster struct {
	Name     string
	Endpoint string
	CA       []byte // PEM
	Status   string
}

// AccessEntry is a stored access entry with its policies.
type AccessEntry struct {
	PrincipalARN     string
	KubernetesGroups []string
	Username         string
	Policies         map[string][]string // policy ARN -> namespaces ("" for cluster scope)
}

// PodIdentityAssociation is a stored EKS Pod Identity association.
type PodIdentityAssociation struct {
	ID             string
	ARN            string
	Namespace      string
	ServiceAccount string
	RoleARN        string
	// TargetRoleARN and OwnerARN are set only by AddPodIdentityAssociation, as for associations other tools made.
	TargetRoleARN string
	OwnerARN      string
	Tags          map[string]string
	Created       time.Time
	Modified      time.Time
}

// EKS is the fake EKS API.
type EKS struct {
	*httptest.Server
	mu           sync.Mutex
	clusters     map[string]Cluster
	entries      map[string]map[string]*AccessEntry            // cluster -> principal -> entry
	associations map[string]map[string]*PodIdentityAssociation // cluster -> association ID -> association
	lastID       int
	// Requests counts calls by operation.
	Requests map[string]int
	// ListQueries are the query strings of ListPodIdentityAssociations calls, so tests see the filters sent.
	ListQueries []url.Values
}

// NewEKS starts the fake EKS API.
func NewEKS() *EKS {
	e := &EKS{clusters: map[string]Cluster{}, entries: map[string]map[string]*AccessEntry{},
		associations: map[string]map[string]*PodIdentityAssociation{}, Requests: map[string]int{}}
	e.Server = httptest.NewServer(http.HandlerFunc(e.serve))
	return e
}

// AddPodIdentityAssociation stores an association made outside the code under test and returns it with its ID and ARN.
func (e *EKS) AddPodIdentityAssociation(cluster string, a PodIdentityAssociation) PodIdentityAssociation {
	e.mu.Lock()
	defer e.mu.Unlock()
	return *e.addAssociation(cluster, a)
}

// PodIdentityAssociation returns the association of a service account.
func (e *EKS) PodIdentityAssociation(cluster, namespace, serviceAccount string) (PodIdentityAssociation, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a := e.associationOf(cluster, namespace, serviceAccount); a != nil {
		return *a, true
	}
	return PodIdentityAssociation{}, false
}

func (e *EKS) addAssociation(cluster string, a PodIdentityAssociation) *PodIdentityAssociation {
	e.lastID++
	// Real IDs are "a-" and 17 lowercase letters and digits.
	a.ID = fmt.Sprintf("a-%017x", e.lastID)
	a.ARN = "arn:aws:eks:us-east-1:111111111111:podidentityassociation/" + cluster + "/" + a.ID
	if a.Created.IsZero() {
		a.Created = time.Now().Truncate(time.Second)
	}
	a.Modified = a.Created
	if e.associations[cluster] == nil {
		e.associations[cluster] = map[string]*PodIdentityAssociation{}
	}
	e.associations[cluster][a.ID] = &a
	return &a
}

func (e *EKS) associationOf(cluster, namespace, serviceAccount string) *PodIdentityAssociation {
	for _, a := range e.associations[cluster] {
		if a.Namespace == namespace && a.ServiceAccount == serviceAccount {
			return a
		}
	}
	return nil
}

// associationJSON is the PodIdentityAssociation shape of EKS's answers; summary is the shape of list items.
func associationJSON(cluster string, a *PodIdentityAssociation, summary bool) map[string]any {
	out := map[string]any{"clusterName": cluster, "namespace": a.Namespace, "serviceAccount": a.ServiceAccount,
		"associationArn": a.ARN, "associationId": a.ID}
	if a.OwnerARN != "" {
		out["ownerArn"] = a.OwnerARN
	}
	if summary {
		return out
	}
	out["roleArn"] = a.RoleARN
	out["tags"] = a.Tags
	out["createdAt"] = float64(a.Created.Unix())
	out["modifiedAt"] = float64(a.Modified.Unix())
	out["disableSessionTags"] = false
	if a.TargetRoleARN != "" {
		out["targetRoleArn"] = a.TargetRoleARN
		out["externalId"] = "00000000-0000-0000-0000-000000000000"
	}
	return out
}

// roleARN is what EKS accepts as an association's role: a role ARN, not a session or a user.
func roleARN(s string) bool {
	return strings.HasPrefix(s, "arn:") && strings.Contains(s, ":iam::") && strings.Contains(s, ":role/")
}

// AddCluster makes a cluster known.
func (e *EKS) AddCluster(c Cluster) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c.Status == "" {
		c.Status = "ACTIVE"
	}
	e.clusters[c.Name] = c
}

// Entry returns an access entry.
func (e *EKS) Entry(cluster, principal string) (AccessEntry, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.entries[cluster][principal]
	if !ok {
		return AccessEntry{}, false
	}
	return *a, true
}

func writeErr(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (e *EKS) serve(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.Header.Get("Authorization"), "/eks/aws4_request") {
		writeErr(w, http.StatusForbidden, "AccessDeniedException", "request not signed for eks")
		return
	}
	parts := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	for i := range parts {
		parts[i], _ = url.PathUnescape(parts[i])
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(parts) < 2 || parts[0] != "clusters" {
		writeErr(w, http.StatusNotFound, "ResourceNotFoundException", "no such operation "+r.URL.Path)
		return
	}
	cl, ok := e.clusters[parts[1]]
	if !ok {
		writeErr(w, http.StatusNotFound, "ResourceNotFoundException", "No cluster found for name: "+parts[1]+".")
		return
	}
	switch {
	case r.Method == http.MethodGet && len(parts) == 2:
		e.Requests["DescribeCluster"]++
		writeJSON(w, map[string]any{"cluster": map[string]any{
			"name": cl.Name, "arn": "arn:aws:eks:us-east-1:111111111111:cluster/" + cl.Name, "status": cl.Status,
			"endpoint": cl.Endpoint, "version": "1.34",
			"certificateAuthority": map[string]any{"data": encodeCA(cl.CA)},
			"accessConfig":         map[string]any{"authenticationMode": "API"},
		}})
	case r.Method == http.MethodPost && len(parts) == 3 && parts[2] == "access-entries":
		e.Requests["CreateAccessEntry"]++
		var in struct {
			PrincipalARN     string   `json:"principalArn"`
			KubernetesGroups []string `json:"kubernetesGroups"`
			Username         string   `json:"username"`
			Type             string   `json:"type"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.PrincipalARN == "" {
			writeErr(w, http.StatusBadRequest, "InvalidParameterException", "principalArn is required")
			return
		}
		if strings.Contains(in.PrincipalARN, ":assumed-role/") {
			writeErr(w, http.StatusBadRequest, "InvalidParameterException", "The principalArn parameter format is not valid")
			return
		}
		if e.entries[cl.Name] == nil {
			e.entries[cl.Name] = map[string]*AccessEntry{}
		}
		if _, dup := e.entries[cl.Name][in.PrincipalARN]; dup {
			writeErr(w, http.StatusConflict, "ResourceInUseException", "The specified access entry resource is already in use on this cluster.")
			return
		}
		username := in.Username
		if username == "" {
			username = in.PrincipalARN
		}
		e.entries[cl.Name][in.PrincipalARN] = &AccessEntry{PrincipalARN: in.PrincipalARN, KubernetesGroups: in.KubernetesGroups,
			Username: username, Policies: map[string][]string{}}
		writeJSON(w, map[string]any{"accessEntry": map[string]any{
			"clusterName": cl.Name, "principalArn": in.PrincipalARN, "kubernetesGroups": in.KubernetesGroups,
			"username": username, "type": "STANDARD", "createdAt": float64(time.Now().Unix()),
		}})
	case r.Method == http.MethodPost && len(parts) == 5 && parts[2] == "access-entries" && parts[4] == "access-policies":
		e.Requests["AssociateAccessPolicy"]++
		entry, ok := e.entries[cl.Name][parts[3]]
		if !ok {
			writeErr(w, http.StatusNotFound, "ResourceNotFoundException", "The specified principalArn could not be found.")
			return
		}
		var in struct {
			PolicyARN   string `json:"policyArn"`
			AccessScope struct {
				Type       string   `json:"type"`
				Namespaces []string `json:"namespaces"`
			} `json:"accessScope"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.PolicyARN == "" || in.AccessScope.Type == "" {
			writeErr(w, http.StatusBadRequest, "InvalidParameterException", "policyArn and accessScope are required")
			return
		}
		entry.Policies[in.PolicyARN] = in.AccessScope.Namespaces
		writeJSON(w, map[string]any{"clusterName": cl.Name, "principalArn": entry.PrincipalARN,
			"associatedAccessPolicy": map[string]any{"policyArn": in.PolicyARN,
				"accessScope": map[string]any{"type": in.AccessScope.Type, "namespaces": in.AccessScope.Namespaces}}})
	case len(parts) >= 3 && parts[2] == "pod-identity-associations":
		e.servePodIdentity(w, r, cl.Name, parts[3:])
	default:
		writeErr(w, http.StatusNotFound, "ResourceNotFoundException", "no such operation "+r.Method+" "+r.URL.Path)
	}
}

// servePodIdentity answers /clusters/<cluster>/pod-identity-associations[/<id>]; e.mu is held.
func (e *EKS) servePodIdentity(w http.ResponseWriter, r *http.Request, cluster string, rest []string) {
	var body struct {
		Namespace      string            `json:"namespace"`
		ServiceAccount string            `json:"serviceAccount"`
		RoleARN        string            `json:"roleArn"`
		TargetRoleARN  *string           `json:"targetRoleArn"`
		Tags           map[string]string `json:"tags"`
	}
	if r.Method == http.MethodPost {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeErr(w, http.StatusBadRequest, "InvalidParameterException", "request body is not JSON: "+err.Error())
			return
		}
	}
	switch {
	case r.Method == http.MethodPost && len(rest) == 0:
		e.Requests["CreatePodIdentityAssociation"]++
		if body.Namespace == "" || body.ServiceAccount == "" || body.RoleARN == "" {
			writeErr(w, http.StatusBadRequest, "InvalidParameterException", "namespace, serviceAccount and roleArn are required")
			return
		}
		if !roleARN(body.RoleARN) {
			writeErr(w, http.StatusBadRequest, "InvalidParameterException", "The roleArn parameter format is not valid")
			return
		}
		if a := e.associationOf(cluster, body.Namespace, body.ServiceAccount); a != nil {
			writeErr(w, http.StatusConflict, "ResourceInUseException", "Association already exists: "+a.ID)
			return
		}
		a := e.addAssociation(cluster, PodIdentityAssociation{Namespace: body.Namespace, ServiceAccount: body.ServiceAccount,
			RoleARN: body.RoleARN, Tags: body.Tags})
		writeJSON(w, map[string]any{"association": associationJSON(cluster, a, false)})
	case r.Method == http.MethodGet && len(rest) == 0:
		e.Requests["ListPodIdentityAssociations"]++
		q := r.URL.Query()
		e.ListQueries = append(e.ListQueries, q)
		list := []any{}
		for _, a := range e.associations[cluster] {
			if (q.Get("namespace") == "" || a.Namespace == q.Get("namespace")) &&
				(q.Get("serviceAccount") == "" || a.ServiceAccount == q.Get("serviceAccount")) {
				list = append(list, associationJSON(cluster, a, true))
			}
		}
		writeJSON(w, map[string]any{"associations": list})
	case len(rest) == 1:
		a, ok := e.associations[cluster][rest[0]]
		if !ok {
			writeErr(w, http.StatusNotFound, "ResourceNotFoundException", "No Pod Identity association found for id: "+rest[0]+".")
			return
		}
		switch r.Method {
		case http.MethodGet:
			e.Requests["DescribePodIdentityAssociation"]++
		case http.MethodPost:
			e.Requests["UpdatePodIdentityAssociation"]++
			if body.RoleARN == "" && body.TargetRoleARN == nil {
				writeErr(w, http.StatusBadRequest, "InvalidParameterException", "Nothing to update")
				return
			}
			if body.RoleARN != "" {
				if !roleARN(body.RoleARN) {
					writeErr(w, http.StatusBadRequest, "InvalidParameterException", "The roleArn parameter format is not valid")
					return
				}
				a.RoleARN = body.RoleARN
			}
			if body.TargetRoleARN != nil {
				a.TargetRoleARN = *body.TargetRoleARN
			}
			a.Modified = time.Now().Truncate(time.Second)
		default:
			writeErr(w, http.StatusNotFound, "ResourceNotFoundException", "no such operation "+r.Method+" "+r.URL.Path)
			return
		}
		writeJSON(w, map[string]any{"association": associationJSON(cluster, a, false)})
	default:
		writeErr(w, http.StatusNotFound, "ResourceNotFoundException", "no such operation "+r.Method+" "+r.URL.Path)
	}
}

func encodeCA(pemData []byte) string {
	// EKS returns the PEM, base64-encoded.
	return encodeBase64(pemData)
}

// STS answers GetCallerIdentity for presigned token URLs: the signature must verify with a known key.
type STS struct {
	*httptest.Server
	mu   sync.Mutex
	keys map[string]Identity // access key ID -> identity
}

// Identity is a known caller.
type Identity struct {
	Secret string
	// ARN is what GetCallerIdentity reports (an assumed-role session ARN for roles).
	ARN     string
	Account string
	UserID  string
}

// NewSTS starts the fake STS over TLS (token URLs are https).
func NewSTS() *STS {
	s := &STS{keys: map[string]Identity{}}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	return s
}

// AddKey makes an access key known.
func (s *STS) AddKey(id string, ident Identity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[id] = ident
}

func (s *STS) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cred := strings.Split(q.Get("X-Amz-Credential"), "/")
	s.mu.Lock()
	ident, ok := s.keys[cred[0]]
	s.mu.Unlock()
	if !ok || len(cred) != 5 {
		http.Error(w, `{"Error":{"Code":"InvalidClientTokenId","Message":"The security token included in the request is invalid."}}`, http.StatusForbidden)
		return
	}
	if err := verifyPresigned(r, cred, ident.Secret); err != nil {
		http.Error(w, `{"Error":{"Code":"SignatureDoesNotMatch","Message":"`+err.Error()+`"}}`, http.StatusForbidden)
		return
	}
	writeJSON(w, map[string]any{"GetCallerIdentityResponse": map[string]any{
		"GetCallerIdentityResult": map[string]any{"Account": ident.Account, "Arn": ident.ARN, "UserId": ident.UserID},
		"ResponseMetadata":        map[string]any{"RequestId": "00000000-0000-0000-0000-000000000000"},
	}})
}

// verifyPresigned signs the request again, as the client presigned it, and compares signatures.
func verifyPresigned(r *http.Request, cred []string, secret string) error {
	q := r.URL.Query()
	at, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("bad X-Amz-Date")
	}
	orig := url.Values{}
	for k, v := range q {
		if !strings.HasPrefix(strings.ToLower(k), "x-amz-") {
			orig[k] = v
		}
	}
	u := url.URL{Scheme: "https", Host: r.Host, Path: "/", RawQuery: orig.Encode()}
	req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
	req.Header.Set("X-Amz-Expires", q.Get("X-Amz-Expires"))
	for _, h := range strings.Split(q.Get("X-Amz-SignedHeaders"), ";") {
		if h != "host" {
			req.Header.Set(h, r.Header.Get(h))
		}
	}
	signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: cred[0], SecretAccessKey: secret},
		req, emptySHA256, cred[3], cred[2], at)
	if err != nil {
		return err
	}
	su, _ := url.Parse(signed)
	if su.Query().Get("X-Amz-Signature") != q.Get("X-Amz-Signature") {
		return fmt.Errorf("signature does not match")
	}
	return nil
}

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// RouteSTS sends every connection to sts.*.amazonaws.com to the fake, through http.DefaultTransport (which the
// token verifier uses), and returns a function that undoes it.
func RouteSTS(s *STS) func() {
	prev := http.DefaultTransport
	addr := s.Listener.Addr().String()
	http.DefaultTransport = &http.Transport{
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			if strings.HasPrefix(a, "sts.") && strings.Contains(a, ".amazonaws.com:") {
				a = addr
			}
			return (&net.Dialer{}).DialContext(ctx, network, a)
		},
		// The fake's certificate is not for sts.amazonaws.com; only the fake is reached this way in tests.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // test-only route to a loopback fake
	}
	return func() { http.DefaultTransport = prev }
}

// Webhook is a kube-apiserver token webhook that accepts EKS tokens for one cluster.
type Webhook struct {
	*httptest.Server
	Cluster  string
	EKS      *EKS
	verifier token.Verifier
}

// NewWebhook starts the webhook over TLS.
func NewWebhook(cluster string, eks *EKS) *Webhook {
	wh := &Webhook{Cluster: cluster, EKS: eks, verifier: token.NewVerifier(cluster, "aws", "us-east-1")}
	wh.Server = httptest.NewTLSServer(http.HandlerFunc(wh.serve))
	return wh
}

func (wh *Webhook) serve(w http.ResponseWriter, r *http.Request) {
	var review struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Spec       struct {
			Token string `json:"token"`
		} `json:"spec"`
	}
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	status := map[string]any{"authenticated": false}
	if id, err := wh.verifier.Verify(review.Spec.Token); err != nil {
		status["error"] = err.Error()
	} else if entry, ok := wh.EKS.Entry(wh.Cluster, id.CanonicalARN); !ok {
		status["error"] = "no access entry for " + id.CanonicalARN
	} else {
		status = map[string]any{"authenticated": true, "user": map[string]any{
			"username": entry.Username, "uid": "aws-iam-authenticator:" + id.AccountID + ":" + id.UserID,
			"groups": entry.KubernetesGroups, "extra": map[string]any{"arn": []string{id.ARN}},
		}}
	}
	writeJSON(w, map[string]any{"apiVersion": review.APIVersion, "kind": "TokenReview", "status": status})
}

// ConfigFile writes the kube-apiserver webhook configuration (a kubeconfig naming the webhook) into dir and
// returns its path.
func (wh *Webhook) ConfigFile(dir string) (string, error) {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: wh.Certificate().Raw})
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: eks-authn
  cluster:
    server: %s/authenticate
    certificate-authority-data: %s
users:
- name: apiserver
contexts:
- name: webhook
  context: {cluster: eks-authn, user: apiserver}
current-context: webhook
`, wh.URL, encodeBase64(ca))
	p := filepath.Join(dir, "eks-authn-webhook.yaml")
	return p, os.WriteFile(p, []byte(cfg), 0o600)
}

func encodeBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
