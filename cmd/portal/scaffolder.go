package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/catalog/service"
	"github.com/billpay/portal/internal/config"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/github"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/action"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// catalogRegistrar lets catalog:register add url locations through the catalog service, as
// POST /api/catalog/locations does.
type catalogRegistrar struct{ svc *service.Service }

var _ action.CatalogRegistrar = catalogRegistrar{}

func (c catalogRegistrar) AddLocation(ctx context.Context, target string, dryRun bool) ([]catalog.Entity, error) {
	res, err := c.svc.AddLocation(ctx, service.AddLocationRequest{Type: "url", Target: target, DryRun: dryRun})
	if err != nil {
		return nil, err
	}
	return res.Entities, nil
}

// scaffolderActions builds the built-in actions with the configured GitHub integrations (publish:github
// and template archives) and, when catalog is set, catalog:register.
func scaffolderActions(cfg config.Config, registrar action.CatalogRegistrar, deployments *action.Deployments) (*scaffolder.Registry, scaffolder.Integrations, map[string]scaffolder.GitHubArchives, error) {
	integrations := scaffolder.Integrations{}
	for h, typ := range scaffolder.DefaultIntegrations {
		integrations[h] = typ
	}
	hosts := map[string]action.GitHubHost{}
	archives := map[string]scaffolder.GitHubArchives{}
	allowHTTP := false
	for _, in := range cfg.GitHub.Integrations {
		host, base, token := strings.ToLower(in.Host), in.APIBaseURL, in.Token
		integrations[host] = "github"
		hosts[host] = action.GitHubHost{Token: token, NewClient: func(t string) (action.GitHubRepos, error) { return github.NewClient(base, t, nil) }}
		c, err := github.NewClient(base, token, nil)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("config: github.integrations %s: %w", in.Host, err)
		}
		archives[host] = c
		// An integration served over plain http (a development or test GitHub on loopback) hands out
		// http clone URLs; pushes may follow it there.
		allowHTTP = allowHTTP || strings.HasPrefix(base, "http://")
	}
	acts := action.Builtins(action.Options{
		Catalog: registrar, GitHub: hosts, Integrations: integrations,
		Git: action.Git{AllowHTTP: allowHTTP}, MaxWait: time.Duration(cfg.Scaffolder.MaxWait), Deploy: deployments,
	})
	reg, err := scaffolder.NewRegistry(acts...)
	return reg, integrations, archives, err
}

// startScaffolder wires templates, tasks and workers: the database task store, a runner with the
// built-in actions, the service the API serves, the workers of this replica and the retention purge.
func (m *Main) startScaffolder(ctx, runCtx context.Context, g *errgroup.Group) error {
	cfg := m.Config.Scaffolder
	tasks, err := m.Store.ScaffolderTasks(ctx)
	if err != nil {
		return err
	}
	workDir := cfg.WorkDir
	if !filepath.IsAbs(workDir) {
		workDir = filepath.Join(m.Config.DataDir, workDir)
	}
	if err := prepareWorkDir(workDir); err != nil {
		return err
	}
	var deployments *action.Deployments
	if m.Deploy != nil {
		deployments = &action.Deployments{Service: m.Deploy.Service, Provisioning: m.Deploy.Provisioning, Infra: m.Deploy.Infra,
			ActAs: m.Auth.ActAs, BaseURL: m.Config.BaseURL}
	}
	reg, integrations, archives, err := scaffolderActions(m.Config, catalogRegistrar{m.Catalog}, deployments)
	if err != nil {
		return err
	}
	runner := &scaffolder.Runner{
		Actions:               reg,
		Templater:             scaffolder.NewTemplater(scaffolder.TemplaterOptions{Integrations: integrations}),
		Sources:               scaffolder.TemplateSources{FileRoots: cfg.TemplateRoots, GitHub: archives},
		WorkDir:               workDir,
		EnvironmentParameters: cfg.DefaultEnvironment.Parameters,
		EnvironmentSecrets:    cfg.DefaultEnvironment.Secrets,
	}
	apiBases := map[string]string{}
	for _, in := range m.Config.GitHub.Integrations {
		apiBases[strings.ToLower(in.Host)] = in.APIBaseURL
	}
	m.Scaffolder = scaffolder.NewService(scaffolder.ServiceOptions{
		Store: tasks, Runner: runner, Catalog: m.Catalog,
		Autocomplete: map[string]scaffolder.Autocompleter{"github": github.Autocomplete{APIBaseURLs: apiBases}},
	})
	host, _ := os.Hostname()
	log := m.Log.With("component", "scaffolder")
	for i := range cfg.Workers {
		w := &scaffolder.Worker{
			Store: m.Scaffolder.Store(), Runner: runner, ID: fmt.Sprintf("%s/%d/%d", host, os.Getpid(), i),
			PollInterval: time.Duration(cfg.PollInterval), HeartbeatInterval: time.Duration(cfg.HeartbeatInterval),
			StaleAfter: time.Duration(cfg.HeartbeatTimeout), Logger: log,
		}
		g.Go(func() error { return w.Run(runCtx) })
	}
	if cfg.TaskRetention > 0 {
		g.Go(func() error { return m.purgeTasks(runCtx, tasks.PurgeTasks, time.Duration(cfg.TaskRetention)) })
	}
	return nil
}

// prepareWorkDir creates the workspace directory and removes workspaces a previous process left
// behind when it died: they may hold a task's checked-out files and were never cleaned.
func prepareWorkDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("scaffolder.workDir %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("scaffolder.workDir %s: %w", dir, err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "portal-task-") || strings.HasPrefix(e.Name(), "portal-dry-run-") {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

func (m *Main) purgeTasks(ctx context.Context, purge func(context.Context, time.Time) (int, error), retention time.Duration) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := purge(ctx, time.Now().Add(-retention)); err != nil && ctx.Err() == nil {
			m.Log.Error("purging old scaffolder tasks failed", "err", err)
		} else if n > 0 {
			m.Log.Info("purged old scaffolder tasks", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// refusingCatalog stands in for the catalog in offline dry runs, where catalog:register is skipped.
type refusingCatalog struct{}

func (refusingCatalog) AddLocation(context.Context, string, bool) ([]catalog.Entity, error) {
	return nil, errs.E(errs.Unavailable, "the catalog is not reachable from an offline dry run")
}

const scaffolderUsage = `Usage: portal scaffolder dry-run TEMPLATE.yaml --values VALUES.yaml [--out DIR] [--user REF]

Runs a template in a throw-away workspace, as POST /api/scaffolder/v2/dry-run does: actions that
support dry runs (fetch:*, fs:*, debug:*, catalog:write) run, the others (publish:github,
catalog:register) are skipped. The template's directory provides its skeletons. Prints the steps,
the log and the files produced; --out writes the files to DIR.
`

// runScaffolder runs `portal scaffolder ...`.
func runScaffolder(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "dry-run" {
		fmt.Fprint(stderr, scaffolderUsage)
		return 2
	}
	fs := flag.NewFlagSet("scaffolder dry-run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, scaffolderUsage) }
	valuesFile := fs.String("values", "", "YAML or JSON file with the form's values")
	out := fs.String("out", "", "write the produced files to this directory")
	user := fs.String("user", "", "user entity ref the run acts for (user.ref)")
	// The template may come before or after the flags.
	var positional []string
	rest := args[1:]
	for len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			if err == flag.ErrHelp {
				return 0
			}
			return 2
		}
		rest = fs.Args()
		if len(rest) > 0 {
			positional = append(positional, rest[0])
			rest = rest[1:]
		}
	}
	if len(positional) != 1 {
		fmt.Fprint(stderr, scaffolderUsage)
		return 2
	}
	if err := scaffolderDryRun(ctx, positional[0], *valuesFile, *out, *user, stdout); err != nil {
		fmt.Fprintf(stderr, "portal: %s\n", errText(err))
		return 1
	}
	return 0
}

func errText(err error) string {
	if verrs, ok := err.(scaffolder.ValidationErrors); ok {
		lines := make([]string, len(verrs))
		for i, v := range verrs {
			lines[i] = "  " + v.Stack
		}
		return "the values do not fit the template's parameters:\n" + strings.Join(lines, "\n")
	}
	if errs.CodeOf(err) != errs.Internal {
		return errs.MessageOf(err)
	}
	return err.Error()
}

func scaffolderDryRun(ctx context.Context, templatePath, valuesPath, outDir, user string, stdout io.Writer) error {
	data, err := os.ReadFile(templatePath)
	if err != nil {
		return err
	}
	tpl, err := scaffolder.ParseTemplate(data)
	if err != nil {
		return fmt.Errorf("%s: %s", templatePath, errText(err))
	}
	values := nunjucks.NewObject(0)
	if valuesPath != "" {
		raw, err := os.ReadFile(valuesPath)
		if err != nil {
			return err
		}
		v, err := scaffolder.ParseYAMLValue(raw)
		if err != nil {
			return fmt.Errorf("%s: %s", valuesPath, errText(err))
		}
		var ok bool
		if values, ok = v.(*nunjucks.Object); !ok {
			return fmt.Errorf("%s must hold a mapping of parameter names to values", valuesPath)
		}
	}
	contents, err := readTemplateDir(filepath.Dir(templatePath))
	if err != nil {
		return err
	}
	cfg := config.Default()
	reg, integrations, _, err := scaffolderActions(cfg, refusingCatalog{}, nil)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "portal-scaffolder-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	runner := &scaffolder.Runner{Actions: reg, Templater: scaffolder.NewTemplater(scaffolder.TemplaterOptions{Integrations: integrations}), WorkDir: tmp}
	res, err := runner.DryRun(ctx, scaffolder.DryRunRequest{Template: tpl, Values: values, DirectoryContents: contents, User: scaffolder.UserInfo{Ref: user}})
	if err != nil {
		return err
	}
	printDryRun(stdout, res)
	if outDir != "" {
		if err := writeFiles(outDir, res.DirectoryContents); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nWrote %d files to %s\n", len(res.DirectoryContents), outDir)
	}
	if res.Status != scaffolder.StatusCompleted {
		return fmt.Errorf("the dry run %s: %s", res.Status, errText(res.Err))
	}
	return nil
}

// readTemplateDir reads a template's directory as a dry run's directoryContents (.git and testdata/ left out).
func readTemplateDir(dir string) ([]scaffolder.SerializedFile, error) {
	var out []scaffolder.SerializedFile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == ".git" || rel == "testdata" {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, scaffolder.SerializedFile{Path: rel, Content: b, Executable: fi.Mode().Perm()&0o111 != 0})
		return nil
	})
	return out, err
}

func printDryRun(w io.Writer, res *scaffolder.DryRunResult) {
	fmt.Fprintln(w, "Steps:")
	for _, s := range res.Steps {
		fmt.Fprintf(w, "  %-20s %-22s %s\n", s.ID, s.Action, s.Name)
	}
	fmt.Fprintln(w, "\nLog:")
	for _, l := range res.Log {
		line := l.Body.Message
		if l.Body.Status != "" {
			line = "[" + string(l.Body.Status) + "] " + line
		}
		if l.Body.StepID != "" {
			line = l.Body.StepID + ": " + line
		}
		fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(line, "\n", "\n    "))
	}
	files := append([]scaffolder.SerializedFile(nil), res.DirectoryContents...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	fmt.Fprintf(w, "\nFiles (%d):\n", len(files))
	for _, f := range files {
		mode := ""
		if f.Executable {
			mode = " (executable)"
		}
		fmt.Fprintf(w, "  %-50s %7d bytes%s\n", f.Path, len(f.Content), mode)
	}
	if out, ok := nunjucks.Dump(res.Output, "  "); ok {
		fmt.Fprintf(w, "\nOutput:\n%s\n", out)
	}
}

// writeFiles writes a dry run's files under dir, refusing paths that would leave it.
func writeFiles(dir string, files []scaffolder.SerializedFile) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, f := range files {
		p := filepath.FromSlash(f.Path)
		if !filepath.IsLocal(p) {
			return fmt.Errorf("refusing to write %q outside %s", f.Path, dir)
		}
		if d := filepath.Dir(p); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		mode := os.FileMode(0o644)
		if f.Executable {
			mode = 0o755
		}
		if err := root.WriteFile(p, f.Content, mode); err != nil {
			return err
		}
	}
	return nil
}

// resolveScaffolderPaths makes template roots relative to the config file absolute.
func resolveScaffolderPaths(cfg *config.Config, base string) {
	for i, r := range cfg.Scaffolder.TemplateRoots {
		if !filepath.IsAbs(r) {
			cfg.Scaffolder.TemplateRoots[i] = filepath.Join(base, r)
		}
	}
}
