// Package action holds Portal's built-in scaffolder actions, with Backstage's ids, inputs and
// outputs: fetch:plain, fetch:plain:file, fetch:template, fetch:template:file, fetch:cookiecutter,
// fs:rename, fs:delete, debug:log, debug:wait, catalog:write, catalog:register and publish:github; and
// Portal's own deploy:eks, deploy:provision, opentofu:plan and opentofu:apply.
// Builtins returns them for a scaffolder.Registry. Each declares JSON Schemas for its input and
// output; inputs reject unknown keys, as Backstage's do.
package action

import (
	"context"
	"time"

	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// Options are what the built-in actions need from the outside. Actions whose port is nil are left out.
type Options struct {
	// Catalog registers locations for catalog:register.
	Catalog CatalogRegistrar
	// GitHub maps hosts ("github.com") to the API and token publish:github uses there.
	GitHub map[string]GitHubHost
	// Integrations are the SCM hosts repoUrl may name; nil means scaffolder.DefaultIntegrations.
	Integrations scaffolder.Integrations
	// Deploy is the deploy service behind deploy:eks, deploy:provision and the opentofu actions; nil leaves
	// them out.
	Deploy *Deployments
	// Git runs the git binary for publish actions; the zero value finds git on PATH.
	Git Git
	// MaxWait bounds debug:wait; 0 means Backstage's 10 minutes.
	MaxWait time.Duration
	// MaxFileBytes bounds one file that fetch actions render; 0 means 10 MiB.
	MaxFileBytes int64
}

// Builtins returns the built-in actions for a registry.
func Builtins(opts Options) []scaffolder.Action {
	if opts.Integrations == nil {
		opts.Integrations = scaffolder.DefaultIntegrations
	}
	if opts.MaxWait == 0 {
		opts.MaxWait = 10 * time.Minute
	}
	if opts.MaxFileBytes == 0 {
		opts.MaxFileBytes = 10 << 20
	}
	out := []scaffolder.Action{
		fetchPlain(), fetchPlainFile(), fetchTemplate(opts), fetchTemplateFile(opts), fetchCookiecutter(opts),
		fsRename(), fsDelete(), debugLog(), debugWait(opts.MaxWait), catalogWrite(),
	}
	if opts.Catalog != nil {
		out = append(out, catalogRegister(opts.Catalog))
	}
	if opts.GitHub != nil {
		out = append(out, publishGitHub(opts))
	}
	if opts.Deploy != nil && opts.Deploy.Service != nil {
		out = append(out, deployActions(opts.Deploy)...)
	}
	return out
}

// simple is an Action made of its description and a function.
type simple struct {
	info scaffolder.ActionInfo
	run  func(ctx context.Context, ac *scaffolder.ActionContext) error
}

func (a *simple) Info() scaffolder.ActionInfo { return a.info }

func (a *simple) Run(ctx context.Context, ac *scaffolder.ActionContext) error { return a.run(ctx, ac) }

// schema compiles a JSON Schema written as JSON text in the source.
func schema(id, kind, text string) *scaffolder.Schema {
	v, err := nunjucks.ParseJSON(text)
	if err != nil {
		panic(id + " " + kind + " schema: " + err.Error())
	}
	return scaffolder.MustCompileSchema(id+" "+kind, v)
}

var emptyOutput = `{"type": "object", "properties": {}}`
