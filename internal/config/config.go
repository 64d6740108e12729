// Package config reads portal.yaml, applies PORTAL_* environment overrides, fills defaults and
// validates. Only cmd imports it; every other package receives plain values.
package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Config is the whole of portal.yaml. Every key has a default (see Default) and an environment
// override PORTAL_<PATH>, the key path in upper snake case: auth.guest is PORTAL_AUTH_GUEST.
type Config struct {
	// Listen is the address the HTTP server binds.
	Listen string `yaml:"listen"`
	// BaseURL is how users reach this portal; it builds absolute links.
	BaseURL string `yaml:"baseUrl"`
	// DataDir holds the embedded SQLite database and local TechDocs output.
	DataDir  string   `yaml:"dataDir"`
	Database Database `yaml:"database"`
	Server   Server   `yaml:"server"`
	Log      Log      `yaml:"log"`
	Auth     Auth     `yaml:"auth"`
	Catalog  Catalog  `yaml:"catalog"`
	GitHub   GitHub   `yaml:"github"`
	Reading  Reading  `yaml:"reading"`
	Flags    Flags    `yaml:"flags"`
	TechDocs TechDocs `yaml:"techdocs"`
	Deploy   Deploy   `yaml:"deploy"`

	// Scaffolder runs software templates.
	Scaffolder Scaffolder `yaml:"scaffolder"`
}

// Deploy configures deploys to EKS: the environments, their values files and the OpenTofu runner.
type Deploy struct {
	// ValuesDir holds one values file per environment, <name>.yaml (relative to the config file).
	ValuesDir    string              `yaml:"valuesDir"`
	Environments []DeployEnvironment `yaml:"environments"`
	// Lease is how long a replica's claim on a running release lasts without renewal; a release whose replica
	// stopped is resumed by another after that.
	Lease Duration `yaml:"lease"`
	// Poll is how often a rollout is checked.
	Poll Duration `yaml:"poll"`
	// AccessPolicy is the EKS access policy a provisioned service's role gets in its namespace.
	AccessPolicy string `yaml:"accessPolicy"`
	// RolePath is the IAM path provisioning creates service roles under; Portal's own role may create and change
	// roles under this path only (infra/modules/portal, service_role_path).
	RolePath string `yaml:"rolePath"`
	// BoundaryPolicyName is the managed policy, in each environment's account, set as every provisioned service
	// role's permissions boundary; Portal's own role may create roles only with it (infra/modules/portal,
	// service_boundary_name).
	BoundaryPolicyName string     `yaml:"boundaryPolicyName"`
	Tofu               DeployTofu `yaml:"tofu"`
}

// DeployEnvironment is one environment: an EKS cluster in an AWS account and region.
type DeployEnvironment struct {
	Name    string `yaml:"name"`
	Region  string `yaml:"region"`
	Account string `yaml:"account"`
	// Cluster is the EKS cluster's name.
	Cluster string `yaml:"cluster"`
	// Namespace is where components go unless their backstage.io/kubernetes-namespace annotation says otherwise.
	Namespace string `yaml:"namespace"`
	// Registry is the ECR registry host; default <account>.dkr.ecr.<region>.amazonaws.com.
	Registry string `yaml:"registry"`
	// Protected environments are production-like; RequireApproval holds each deploy for a second owner.
	Protected       bool `yaml:"protected"`
	RequireApproval bool `yaml:"requireApproval"`
	// RoleARN, when set, is assumed for this environment's AWS calls (one role per account).
	RoleARN string `yaml:"roleArn"`
	// Kubeconfig, when set, reaches the cluster through this kubeconfig's current context instead of EKS
	// (clusters outside AWS, local development).
	Kubeconfig string `yaml:"kubeconfig"`
}

// DeployTofu configures OpenTofu plans and applies of infrastructure units.
type DeployTofu struct {
	// Root is the directory units are named relative to (relative to the config file); empty turns runs off.
	Root string `yaml:"root"`
	// Owner owns the infrastructure: its members plan, and approve each other's plans.
	Owner string `yaml:"owner"`
	// Binary is the tofu executable; default tofu from PATH.
	Binary string `yaml:"binary"`
}

// Flags configures feature flags and OFREP.
type Flags struct {
	Environments []FlagEnvironment `yaml:"environments"`
	// GuestEnvironment is what OFREP requests without a key evaluate against while auth.guest is on.
	GuestEnvironment string `yaml:"guestEnvironment"`
	// RateLimit applies to each key (and to each address calling without one).
	RateLimit FlagRateLimit `yaml:"rateLimit"`
	// SeedDir holds <environment>.flagd.json files imported into environments that were never written.
	SeedDir string `yaml:"seedDir"`
	// PollInterval is how often a replica looks for flag changes other replicas made.
	PollInterval Duration `yaml:"pollInterval"`
	// SyncListen, when set, serves flagd's sync protocol (flagd.sync.v1, gRPC) for flagd daemons and
	// in-process providers.
	SyncListen string `yaml:"syncListen"`
}

// FlagEnvironment is one flag environment and its OFREP keys.
type FlagEnvironment struct {
	Name string `yaml:"name"`
	// Protected environments need more than ownership to change (see the permission policy).
	Protected bool `yaml:"protected"`
	// ClientKeys are public, for browser apps; ServerKeys are secrets for backends.
	ClientKeys []string `yaml:"clientKeys"`
	ServerKeys []string `yaml:"serverKeys" secret:"true"`
}

// FlagRateLimit is a token bucket; PerSecond 0 turns limiting off.
type FlagRateLimit struct {
	PerSecond float64 `yaml:"perSecond"`
	Burst     int     `yaml:"burst"`
}

// Scaffolder configures software templates and the tasks that run them.
type Scaffolder struct {
	// Workers is how many tasks one replica runs at once; 0 runs none here (tasks still queue for
	// other replicas).
	Workers int `yaml:"workers"`
	// WorkDir holds task workspaces, private to one process; relative paths are under dataDir.
	WorkDir string `yaml:"workDir"`
	// HeartbeatInterval is how often a running task records that its runner is alive (and how fast a
	// cancel takes effect).
	HeartbeatInterval Duration `yaml:"heartbeatInterval"`
	// HeartbeatTimeout is how long a running task may go without a heartbeat before another replica
	// fails it or, when its template asks (EXPERIMENTAL_recovery: startOver), runs it again.
	HeartbeatTimeout Duration `yaml:"heartbeatTimeout"`
	// PollInterval is how often an idle worker looks for queued tasks.
	PollInterval Duration `yaml:"pollInterval"`
	// TaskRetention is how long finished tasks and their logs are kept; 0 keeps them forever.
	TaskRetention Duration `yaml:"taskRetention"`
	// TemplateRoots are the directories templates registered from files may read their skeletons
	// from (relative to the config file); a file template elsewhere cannot fetch its files.
	TemplateRoots []string `yaml:"templateRoots"`
	// MaxWait bounds debug:wait.
	MaxWait Duration `yaml:"maxWait"`
	// DefaultEnvironment is what templates see as environment.parameters and environment.secrets
	// (Backstage's scaffolder.defaultEnvironment).
	DefaultEnvironment ScaffolderEnvironment `yaml:"defaultEnvironment"`
}

// ScaffolderEnvironment is the environment every template sees.
type ScaffolderEnvironment struct {
	Parameters map[string]any    `yaml:"parameters"`
	Secrets    map[string]string `yaml:"secrets" secret:"true"`
}

// TechDocs configures how docs are built, stored and served.
type TechDocs struct {
	// Publisher is where built sites go: "local" (a directory; one replica) or "awsS3" (a bucket
	// every replica reads).
	Publisher string `yaml:"publisher"`
	// LocalDir is the local publisher's directory; empty means <dataDir>/techdocs.
	LocalDir string          `yaml:"localDir"`
	S3       TechDocsS3      `yaml:"s3"`
	Builder  TechDocsBuilder `yaml:"builder"`
}

// TechDocsS3 is the awsS3 publisher's bucket. Credentials come from the AWS SDK's default chain
// (environment, shared config, IRSA web identity, instance role).
type TechDocsS3 struct {
	// Bucket is the bucket sites are published to.
	Bucket string `yaml:"bucket"`
	// Region is the bucket's AWS region; empty takes the SDK's (AWS_REGION, shared config).
	Region string `yaml:"region"`
	// Endpoint replaces S3's endpoint, for S3-compatible stores.
	Endpoint string `yaml:"endpoint"`
	// RootPath prefixes every key (Backstage's bucketRootPath).
	RootPath string `yaml:"rootPath"`
	// ForcePathStyle puts the bucket in the URL's path (http://host/bucket/key), as most
	// S3-compatible stores need.
	ForcePathStyle bool `yaml:"forcePathStyle"`
}

// TechDocsBuilder configures the portal's own builds.
type TechDocsBuilder struct {
	// External means CI builds and publishes sites (portal techdocs publish) and the portal only
	// serves and indexes them, as Backstage's techdocs.builder: external.
	External bool `yaml:"external"`
	// Concurrency bounds the builds one replica runs at once.
	Concurrency int `yaml:"concurrency"`
	// Strict fails builds with warnings (broken links and anchors, unknown mkdocs.yml keys).
	Strict bool `yaml:"strict"`
	// CheckInterval is how often each entity's docs source is checked for changes.
	CheckInterval Duration `yaml:"checkInterval"`
	// SyncCheckInterval is how long after a check opening the docs checks again.
	SyncCheckInterval Duration `yaml:"syncCheckInterval"`
	// Timeout bounds one build.
	Timeout Duration `yaml:"timeout"`
}

// Reading limits where url locations (other than configured GitHub hosts) may be read from.
type Reading struct {
	// Allow lists hosts ("example.com", "*.example.com"); empty allows any public host.
	Allow []string `yaml:"allow"`
	// AllowPrivateNetworks also allows loopback, private and link-local addresses.
	AllowPrivateNetworks bool `yaml:"allowPrivateNetworks"`
}

// Database selects the storage engine.
type Database struct {
	// URL names PostgreSQL (postgres://...) for several replicas; empty means SQLite in DataDir.
	URL string `yaml:"url" secret:"true"`
}

// Server tunes the HTTP server.
type Server struct {
	// DebugListen, when set, serves Go's profiler (/debug/pprof) on its own address; keep it on
	// loopback.
	DebugListen  string `yaml:"debugListen"`
	MaxBodyBytes int64  `yaml:"maxBodyBytes"`
	// GCPercent is the Go garbage collector's target (GOGC) unless GOGC is set in the environment.
	GCPercent       int      `yaml:"gcPercent"`
	ShutdownTimeout Duration `yaml:"shutdownTimeout"`
}

// Log configures log/slog output.
type Log struct {
	Level string `yaml:"level"`
}

// Auth configures who may call mutating routes.
type Auth struct {
	// Guest lets unauthenticated callers act as user:default/guest.
	Guest bool `yaml:"guest"`
	// AllowGuestOnNetwork must be set to run with guest access on a non-loopback address.
	AllowGuestOnNetwork bool `yaml:"allowGuestOnNetwork"`
	// GuestAdmin makes the guest an admin (the local-development default, where the guest is you).
	GuestAdmin bool `yaml:"guestAdmin"`
	// Tokens are static bearer tokens for automation.
	Tokens []Token `yaml:"tokens"`
	// AdminGroups are entity refs whose members (transitively) may do anything.
	AdminGroups []string `yaml:"adminGroups"`
	// BackstageTokens verify Backstage's legacy service tokens (HS256 JWTs) on the Backstage routes.
	BackstageTokens []BackstageToken `yaml:"backstageTokens"`
	// SessionLifetime is how long a browser session lasts after sign-in.
	SessionLifetime Duration   `yaml:"sessionLifetime"`
	GitHub          AuthGitHub `yaml:"github"`
	RateLimit       AuthLimits `yaml:"rateLimit"`
}

// Token is one static bearer token and the principal it stands for.
type Token struct {
	Token string `yaml:"token" secret:"true"`
	// Subject is who the token acts as: a name, or an entity ref whose ownership the token gets.
	Subject string `yaml:"subject"`
	// Admin tokens may do anything.
	Admin bool `yaml:"admin"`
	// Scopes, when set, limit the token (catalog:read, catalog:write, scaffolder:run, flags:write, ...).
	Scopes []string `yaml:"scopes"`
}

// BackstageToken is a shared secret Backstage services sign their tokens with (backend.auth.keys).
type BackstageToken struct {
	// Secret is base64, as in Backstage's app-config.
	Secret  string `yaml:"secret" secret:"true"`
	Subject string `yaml:"subject"`
}

// AuthGitHub is the GitHub OAuth app people sign in with.
type AuthGitHub struct {
	ClientID     string `yaml:"clientId"`
	ClientSecret string `yaml:"clientSecret" secret:"true"`
	// WebBaseURL is where people authorize (GitHub Enterprise: its web URL).
	WebBaseURL string `yaml:"webBaseUrl"`
	APIBaseURL string `yaml:"apiBaseUrl"`
	// AllowedOrganizations admit only members of these organizations; empty admits any GitHub user with a
	// catalog User.
	AllowedOrganizations []string `yaml:"allowedOrganizations"`
	// Resolver finds the catalog User: "annotation" (github.com/user-login) or "annotationOrName" (also a
	// User named like the login).
	Resolver string `yaml:"resolver"`
}

// AuthLimits throttle abuse.
type AuthLimits struct {
	MutationsPerSecond  float64 `yaml:"mutationsPerSecond"`
	MutationBurst       int     `yaml:"mutationBurst"`
	FailedAuthPerMinute float64 `yaml:"failedAuthPerMinute"`
}

// Catalog configures the software catalog.
type Catalog struct {
	ProcessingInterval Duration `yaml:"processingInterval"`
	// PollInterval is how often an idle replica looks for work other replicas or the clock made due.
	PollInterval Duration `yaml:"pollInterval"`
	// ProcessingBatchSize is how many entities one processing transaction claims.
	ProcessingBatchSize           int        `yaml:"processingBatchSize"`
	Readonly                      bool       `yaml:"readonly"`
	DisableRelationsCompatibility bool       `yaml:"disableRelationsCompatibility"`
	Rules                         []Rule     `yaml:"rules"`
	Locations                     []Location `yaml:"locations"`
}

// Rule allows kinds into the catalog (Backstage's catalog.rules).
type Rule struct {
	Allow []string `yaml:"allow"`
}

// Location is a location loaded from config; its Rules apply to everything read through it.
type Location struct {
	Type   string `yaml:"type"`
	Target string `yaml:"target"`
	Rules  []Rule `yaml:"rules"`
}

// GitHub configures GitHub integrations, discovery and the push webhook.
type GitHub struct {
	Integrations  []GitHubIntegration `yaml:"integrations"`
	WebhookSecret string              `yaml:"webhookSecret" secret:"true"`
	Providers     []GitHubProvider    `yaml:"providers"`
}

// GitHubIntegration is one GitHub host and how to reach its API.
type GitHubIntegration struct {
	Host       string `yaml:"host"`
	APIBaseURL string `yaml:"apiBaseUrl"`
	Token      string `yaml:"token" secret:"true"`
}

// GitHubProvider discovers catalog files in every repository of an organization.
type GitHubProvider struct {
	Name         string   `yaml:"name"`
	Host         string   `yaml:"host"`
	Organization string   `yaml:"organization"`
	CatalogPath  string   `yaml:"catalogPath"`
	RepoFilter   string   `yaml:"repoFilter"`
	Interval     Duration `yaml:"interval"`
}

// Duration is a time.Duration written as "100s" or "5m" in YAML and environment variables.
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration like 90s or 5m", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Default returns the configuration used for every key portal.yaml leaves out.
func Default() Config {
	return Config{
		Listen:  ":7007",
		BaseURL: "http://localhost:7007",
		DataDir: "data",
		// The catalog's read model is long-lived and requests allocate little that survives, so a
		// tighter GC target than Go's 100 keeps resident memory near the live set for little CPU.
		Server: Server{MaxBodyBytes: 4 << 20, ShutdownTimeout: Duration(20 * time.Second), GCPercent: 60},
		Log:    Log{Level: "info"},
		Auth: Auth{GuestAdmin: true, SessionLifetime: Duration(12 * time.Hour),
			GitHub:    AuthGitHub{WebBaseURL: "https://github.com", APIBaseURL: "https://api.github.com/", Resolver: "annotation"},
			RateLimit: AuthLimits{MutationsPerSecond: 20, MutationBurst: 60, FailedAuthPerMinute: 30}},
		Catalog: Catalog{
			// Backstage's catalog dropped the relations' legacy "target" object by default in 3.0.
			DisableRelationsCompatibility: true,
			ProcessingInterval:            Duration(100 * time.Second),
			ProcessingBatchSize:           500,
			PollInterval:                  Duration(time.Second),
			Rules:                         []Rule{{Allow: []string{"Component", "API", "Location"}}},
		},
		TechDocs: TechDocs{Publisher: "local", Builder: TechDocsBuilder{Concurrency: 2, CheckInterval: Duration(10 * time.Minute),
			SyncCheckInterval: Duration(time.Minute), Timeout: Duration(10 * time.Minute)}},
		GitHub: GitHub{Integrations: []GitHubIntegration{{Host: "github.com", APIBaseURL: "https://api.github.com/"}}},
		Scaffolder: Scaffolder{Workers: 2, WorkDir: "scaffolder", HeartbeatInterval: Duration(5 * time.Second),
			HeartbeatTimeout: Duration(2 * time.Minute), PollInterval: Duration(time.Second),
			TaskRetention: Duration(30 * 24 * time.Hour), MaxWait: Duration(10 * time.Minute)},
		Flags: Flags{
			Environments: []FlagEnvironment{{Name: "dev"}, {Name: "staging"}, {Name: "production", Protected: true}},
			// A client key is shared by every browser running an app, so its limit is per app, not per user.
			RateLimit:        FlagRateLimit{PerSecond: 1000, Burst: 2000},
			GuestEnvironment: "dev",
			PollInterval:     Duration(time.Second),
		},
		// BillPay's environments, as infra/live/<env>/env.hcl creates them.
		Deploy: Deploy{
			ValuesDir: "deploy/values",
			Environments: []DeployEnvironment{
				{Name: "dev", Region: "us-east-1", Account: "111111111111", Cluster: "billpay-dev-eks-cluster", Namespace: "billpay"},
				{Name: "staging", Region: "us-east-1", Account: "222222222222", Cluster: "billpay-staging-eks-cluster", Namespace: "billpay"},
				{Name: "prod", Region: "us-east-1", Account: "333333333333", Cluster: "billpay-eks-cluster", Namespace: "billpay",
					Protected: true, RequireApproval: true},
			},
			Lease:              Duration(30 * time.Second),
			Poll:               Duration(time.Second),
			AccessPolicy:       "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
			RolePath:           "/billpay/services/",
			BoundaryPolicyName: "billpay-service-boundary",
			Tofu:               DeployTofu{Owner: "group:default/platform-team"},
		},
	}
}

// Load reads path (none when empty), applies environment overrides from environ ("KEY=value"),
// and validates. Errors name the offending key.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return Config{}, fmt.Errorf("config %s: %v", path, namedYAMLError(data, err))
		}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// namedYAMLError puts the key path in front of each "line N: ..." problem, so a message names the
// key as well as the line.
func namedYAMLError(data []byte, err error) string {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return cleanYAMLError(err)
	}
	paths := map[int]string{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, prefix)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := n.Content[i].Value
				if prefix != "" {
					p = prefix + "." + p
				}
				// On a line with several keys ({a: {b: x}}) the innermost one is the one to name.
				paths[n.Content[i].Line] = p
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", prefix, i)
				paths[c.Line] = p
				walk(c, p)
			}
		}
	}
	walk(&root, "")
	lines := strings.Split(cleanYAMLError(err), "\n")
	for i, l := range lines {
		l = strings.TrimSpace(l)
		var n int
		if _, scanErr := fmt.Sscanf(l, "line %d:", &n); scanErr == nil && paths[n] != "" {
			l = paths[n] + ": " + l
		}
		lines[i] = l
	}
	return strings.Join(lines, "; ")
}

func cleanYAMLError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	return strings.ReplaceAll(msg, "unmarshal errors:\n  ", "")
}

// EnvName returns the environment variable that overrides a key path such as "auth.guest".
func EnvName(path string) string {
	var b strings.Builder
	b.WriteString("PORTAL_")
	for i, part := range strings.Split(path, ".") {
		if i > 0 {
			b.WriteByte('_')
		}
		for j, r := range part {
			if j > 0 && unicode.IsUpper(r) && !unicode.IsUpper(rune(part[j-1])) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}

// applyEnv sets every key whose PORTAL_* variable is present. Lists and objects take YAML or JSON.
func applyEnv(cfg *Config, environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "PORTAL_") {
			env[k] = v
		}
	}
	if len(env) == 0 {
		return nil
	}
	return walk(reflect.ValueOf(cfg).Elem(), "", func(path string, v reflect.Value) error {
		raw, ok := env[EnvName(path)]
		if !ok {
			return nil
		}
		if err := setFromString(v, raw); err != nil {
			return fmt.Errorf("config: %s (from %s): %v", path, EnvName(path), err)
		}
		return nil
	})
}

// walk visits every leaf key (scalars and lists) with its dotted YAML path.
func walk(v reflect.Value, prefix string, fn func(path string, v reflect.Value) error) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeOf(Duration(0)) {
			if err := walk(fv, path, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(path, fv); err != nil {
			return err
		}
	}
	return nil
}

func setFromString(v reflect.Value, raw string) error {
	switch {
	case v.Type() == reflect.TypeOf(Duration(0)):
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("%q is not a duration like 90s or 5m", raw)
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(raw)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("%q is not true or false", raw)
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int64 || v.Kind() == reflect.Int:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", raw)
		}
		v.SetInt(n)
	default:
		// Lists and objects: YAML, which also reads JSON.
		ptr := reflect.New(v.Type())
		if err := yaml.Unmarshal([]byte(raw), ptr.Interface()); err != nil {
			return fmt.Errorf("expected YAML or JSON: %v", cleanYAMLError(err))
		}
		v.Set(ptr.Elem())
	}
	return nil
}

// Validate checks every key and names the first one that is wrong.
func (c Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("config: %s: %s", key, fmt.Sprintf(format, args...))
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return bad("listen", "%q is not host:port (%v)", c.Listen, err)
	}
	if c.Auth.Guest && !c.Auth.AllowGuestOnNetwork && !IsLoopback(host) {
		return bad("auth.guest", "guest access is on while listening on %q, which is not loopback; listen on 127.0.0.1 or set auth.allowGuestOnNetwork: true", c.Listen)
	}
	if c.Database.URL != "" {
		ok := false
		for _, p := range []string{"postgres://", "postgresql://", "sqlite://", "file:"} {
			ok = ok || strings.HasPrefix(c.Database.URL, p)
		}
		if !ok {
			return bad("database.url", "expected postgres://, postgresql://, sqlite:// or file:")
		}
	}
	if c.DataDir == "" {
		return bad("dataDir", "must not be empty")
	}
	if c.Server.GCPercent < 10 {
		return bad("server.gcPercent", "must be at least 10")
	}
	if c.Server.MaxBodyBytes <= 0 {
		return bad("server.maxBodyBytes", "must be positive")
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		return bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	for i, t := range c.Auth.Tokens {
		if len(t.Token) < 16 {
			return bad(fmt.Sprintf("auth.tokens[%d].token", i), "must be at least 16 characters")
		}
		if t.Subject == "" {
			return bad(fmt.Sprintf("auth.tokens[%d].subject", i), "must name who uses the token")
		}
	}
	for i, t := range c.Auth.BackstageTokens {
		if raw, err := base64.StdEncoding.DecodeString(t.Secret); err != nil || len(raw) < 16 {
			return bad(fmt.Sprintf("auth.backstageTokens[%d].secret", i), "must be base64 of at least 16 bytes")
		}
	}
	if (c.Auth.GitHub.ClientID == "") != (c.Auth.GitHub.ClientSecret == "") {
		return bad("auth.github.clientSecret", "clientId and clientSecret are set together")
	}
	if r := c.Auth.GitHub.Resolver; r != "annotation" && r != "annotationOrName" {
		return bad("auth.github.resolver", "%q is not annotation or annotationOrName", r)
	}
	if c.Auth.SessionLifetime <= 0 {
		return bad("auth.sessionLifetime", "must be positive")
	}
	if c.Catalog.ProcessingBatchSize <= 0 || c.Catalog.ProcessingBatchSize > 5000 {
		return bad("catalog.processingBatchSize", "must be between 1 and 5000")
	}
	if c.Catalog.PollInterval <= 0 {
		return bad("catalog.pollInterval", "must be positive")
	}
	if c.Catalog.ProcessingInterval <= 0 {
		return bad("catalog.processingInterval", "must be positive")
	}
	for i, l := range c.Catalog.Locations {
		key := fmt.Sprintf("catalog.locations[%d]", i)
		if l.Type != "file" && l.Type != "url" {
			return bad(key+".type", "%q is not file or url", l.Type)
		}
		if l.Target == "" {
			return bad(key+".target", "must not be empty")
		}
	}
	for i, p := range c.GitHub.Providers {
		key := fmt.Sprintf("github.providers[%d]", i)
		if p.Organization == "" {
			return bad(key+".organization", "must not be empty")
		}
		if p.Name == "" {
			return bad(key+".name", "must not be empty")
		}
	}
	if err := c.TechDocs.validate(bad); err != nil {
		return err
	}
	if err := c.Flags.validate(bad); err != nil {
		return err
	}
	if err := c.Deploy.validate(bad); err != nil {
		return err
	}
	if err := c.Scaffolder.validate(bad); err != nil {
		return err
	}
	for i, in := range c.GitHub.Integrations {
		if in.Host == "" {
			return bad(fmt.Sprintf("github.integrations[%d].host", i), "must not be empty")
		}
	}
	return nil
}

func (s Scaffolder) validate(bad func(key, format string, args ...any) error) error {
	if s.Workers < 0 || s.Workers > 64 {
		return bad("scaffolder.workers", "must be between 0 and 64")
	}
	if s.WorkDir == "" {
		return bad("scaffolder.workDir", "must not be empty")
	}
	if s.HeartbeatInterval <= 0 {
		return bad("scaffolder.heartbeatInterval", "must be positive")
	}
	if s.HeartbeatTimeout < 3*s.HeartbeatInterval {
		return bad("scaffolder.heartbeatTimeout", "must be at least three heartbeat intervals (%s), or live tasks would be taken from their runners",
			time.Duration(3*s.HeartbeatInterval))
	}
	if s.PollInterval <= 0 {
		return bad("scaffolder.pollInterval", "must be positive")
	}
	if s.TaskRetention < 0 {
		return bad("scaffolder.taskRetention", "must not be negative (0 keeps tasks forever)")
	}
	if s.MaxWait <= 0 {
		return bad("scaffolder.maxWait", "must be positive")
	}
	for i, r := range s.TemplateRoots {
		if r == "" {
			return bad(fmt.Sprintf("scaffolder.templateRoots[%d]", i), "must not be empty")
		}
	}
	return nil
}

func (t TechDocs) validate(bad func(key, format string, args ...any) error) error {
	switch t.Publisher {
	case "local":
	case "awsS3":
		if t.S3.Bucket == "" {
			return bad("techdocs.s3.bucket", "the awsS3 publisher needs a bucket")
		}
	default:
		return bad("techdocs.publisher", "%q is not local or awsS3", t.Publisher)
	}
	if e := t.S3.Endpoint; e != "" {
		if u, err := url.Parse(e); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return bad("techdocs.s3.endpoint", "%q is not an http(s) URL", e)
		}
	}
	if t.Builder.Concurrency < 1 || t.Builder.Concurrency > 64 {
		return bad("techdocs.builder.concurrency", "must be between 1 and 64")
	}
	for key, d := range map[string]Duration{"checkInterval": t.Builder.CheckInterval,
		"syncCheckInterval": t.Builder.SyncCheckInterval, "timeout": t.Builder.Timeout} {
		if d <= 0 {
			return bad("techdocs.builder."+key, "must be positive")
		}
	}
	return nil
}

// IsLoopback reports whether a listen host only accepts connections from this machine.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (f Flags) validate(bad func(key, format string, args ...any) error) error {
	if len(f.Environments) == 0 {
		return bad("flags.environments", "at least one environment is required")
	}
	names := map[string]bool{}
	keys := map[string]string{}
	for i, e := range f.Environments {
		key := fmt.Sprintf("flags.environments[%d]", i)
		if !validEnvName(e.Name) {
			return bad(key+".name", "%q must be 1 to 63 lowercase letters, digits and dashes", e.Name)
		}
		if names[e.Name] {
			return bad(key+".name", "environment %q is listed twice", e.Name)
		}
		names[e.Name] = true
		for kind, list := range map[string][]string{"clientKeys": e.ClientKeys, "serverKeys": e.ServerKeys} {
			for j, k := range list {
				where := fmt.Sprintf("%s.%s[%d]", key, kind, j)
				if len(k) < 16 {
					return bad(where, "must be at least 16 characters")
				}
				if other, dup := keys[k]; dup {
					return bad(where, "is also used at %s; every key selects one environment", other)
				}
				keys[k] = where
			}
		}
	}
	if f.GuestEnvironment != "" && !names[f.GuestEnvironment] {
		return bad("flags.guestEnvironment", "%q is not one of flags.environments", f.GuestEnvironment)
	}
	if f.RateLimit.PerSecond < 0 {
		return bad("flags.rateLimit.perSecond", "must not be negative (0 turns limiting off)")
	}
	if f.RateLimit.Burst < 0 {
		return bad("flags.rateLimit.burst", "must not be negative")
	}
	if f.PollInterval <= 0 {
		return bad("flags.pollInterval", "must be positive")
	}
	if f.SyncListen != "" {
		if _, _, err := net.SplitHostPort(f.SyncListen); err != nil {
			return bad("flags.syncListen", "%q is not host:port (%v)", f.SyncListen, err)
		}
	}
	return nil
}

func validEnvName(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

func (d Deploy) validate(bad func(key, format string, args ...any) error) error {
	names := map[string]bool{}
	for i, e := range d.Environments {
		key := fmt.Sprintf("deploy.environments[%d]", i)
		switch {
		case !validEnvName(e.Name):
			return bad(key+".name", "%q must be 1 to 63 lowercase letters, digits and dashes", e.Name)
		case names[e.Name]:
			return bad(key+".name", "environment %q is listed twice", e.Name)
		case e.Region == "":
			return bad(key+".region", "must name an AWS region, such as us-east-1")
		case len(e.Account) != 12 || strings.Trim(e.Account, "0123456789") != "":
			return bad(key+".account", "%q is not a 12-digit AWS account ID", e.Account)
		case e.Cluster == "" && e.Kubeconfig == "":
			return bad(key+".cluster", "must name the EKS cluster (or set kubeconfig)")
		case !validEnvName(e.Namespace):
			return bad(key+".namespace", "%q is not a Kubernetes namespace name", e.Namespace)
		case e.RoleARN != "" && !strings.HasPrefix(e.RoleARN, "arn:aws"):
			return bad(key+".roleArn", "%q is not an IAM role ARN", e.RoleARN)
		}
		names[e.Name] = true
	}
	if d.Lease < Duration(3*time.Second) {
		return bad("deploy.lease", "must be at least 3s")
	}
	if d.Poll <= 0 {
		return bad("deploy.poll", "must be positive")
	}
	if d.AccessPolicy != "" && !strings.HasPrefix(d.AccessPolicy, "arn:aws:eks::aws:cluster-access-policy/") {
		return bad("deploy.accessPolicy", "%q is not an EKS access policy ARN", d.AccessPolicy)
	}
	if !validIAMPath(d.RolePath) {
		return bad("deploy.rolePath", "%q must be an IAM path below the root: starting and ending with / (such as "+
			"/billpay/services/), at most 512 printable characters without spaces", d.RolePath)
	}
	if !validIAMName(d.BoundaryPolicyName) {
		return bad("deploy.boundaryPolicyName", "%q is not an IAM policy name: 1 to 128 letters, digits and +=,.@_-",
			d.BoundaryPolicyName)
	}
	return nil
}

// validIAMPath follows IAM's rule for paths; "/" alone is one, but a service role there would be outside any path
// Portal's own role can be limited to, so it is refused.
func validIAMPath(p string) bool {
	if len(p) < 3 || len(p) > 512 || p[0] != '/' || p[len(p)-1] != '/' || strings.Contains(p, "//") {
		return false
	}
	for _, r := range p {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

func validIAMName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+=,.@_-", r)) {
			return false
		}
	}
	return true
}
