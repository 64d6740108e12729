package main

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/httpapi"
	"github.com/billpay/portal/internal/web"
)

// webHandler builds the portal's pages over the services the API serves, so a page and an API call see the same
// catalog index, flags, tasks, docs, search and sessions. Without the portal-wide search the home page searches the
// catalog index alone.
//
// The pages' templates are embedded and parsed here; tests parse them on every run, so a failure is a defect in
// the build, not in the configuration, and stops the portal.
func (m *Main) webHandler(authn *auth.Authenticator, signIn bool) http.Handler {
	// Interfaces are only set from non-nil services: a nil pointer in an interface is not a missing service.
	var search web.Searcher
	if s := m.TechDocs.search(); s != nil {
		search = s
	}
	var docs web.TechDocs
	if d := m.TechDocs.docs(); d != nil {
		docs = d
	}
	var deploys *web.Deploys
	if m.Deploy != nil && m.Deploy.Service != nil {
		deploys = &web.Deploys{Service: m.Deploy.Service, Infra: m.Deploy.Infra}
	}
	h, err := web.New(web.Options{
		Deploys:       deploys,
		Catalog:       m.Catalog,
		Auth:          authn,
		Flags:         m.Flags,
		Scaffolder:    m.Scaffolder,
		TechDocs:      docs,
		Search:        search,
		Audit:         m.Store,
		SignIn:        signIn,
		SessionCookie: httpapi.SessionCookie,
		SecureCookies: !strings.HasPrefix(m.Config.BaseURL, "http://"),
		// The pages share the API's limits on changes, each with its own buckets.
		MutationsPerSecond: m.Config.Auth.RateLimit.MutationsPerSecond,
		MutationBurst:      m.Config.Auth.RateLimit.MutationBurst,
		Version:            version,
		Log:                m.Log.With("component", "web"),
	})
	if err != nil {
		panic(fmt.Sprintf("web: the embedded page templates do not parse: %v", err))
	}
	return h
}
