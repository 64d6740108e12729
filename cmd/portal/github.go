package main

import (
	"context"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/billpay/portal/internal/catalog/processing"
	"github.com/billpay/portal/internal/catalog/source"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/github"
	"github.com/billpay/portal/internal/httpapi"
)

// githubClients builds one API client per configured GitHub host.
func (m *Main) githubClients() (map[string]*github.Client, error) {
	clients := map[string]*github.Client{}
	for _, in := range m.Config.GitHub.Integrations {
		c, err := github.NewClient(in.APIBaseURL, in.Token, nil)
		if err != nil {
			return nil, err
		}
		clients[strings.ToLower(in.Host)] = c
	}
	return clients, nil
}

// sourceReader reads file locations from disk, GitHub URLs through the GitHub API and other URLs
// over plain HTTP.
func (m *Main) sourceReader() (source.Reader, error) {
	clients, err := m.githubClients()
	if err != nil {
		return nil, err
	}
	var hosts []source.GitHubHost
	for host, c := range clients {
		hosts = append(hosts, source.GitHubHost{Host: host, Files: c})
	}
	gh, err := source.NewGitHubReader(hosts...)
	if err != nil {
		return nil, err
	}
	policy := source.ReadPolicy{AllowHosts: m.Config.Reading.Allow, AllowPrivateNetworks: m.Config.Reading.AllowPrivateNetworks}
	return &source.Dispatcher{File: source.FileReader{}, GitHub: gh, HTTP: source.NewHTTPReader(policy.Client(source.DefaultReadTimeout))}, nil
}

// discoveryRunner runs one GitHub discovery provider on its interval and on demand.
type discoveryRunner struct {
	provider    *source.GitHubDiscovery
	host, org   string
	catalogPath string
	interval    time.Duration
	now         chan struct{}
}

func (m *Main) startGitHub(ctx context.Context, g *errgroup.Group) error {
	clients, err := m.githubClients()
	if err != nil {
		return err
	}
	for _, p := range m.Config.GitHub.Providers {
		host := p.Host
		if host == "" {
			host = source.DefaultGitHubHost
		}
		client := clients[strings.ToLower(host)]
		if client == nil {
			return errs.E(errs.Invalid, "config: github.providers %s: no github.integrations entry for host %s", p.Name, host)
		}
		d, err := source.NewGitHubDiscovery(client, source.GitHubDiscoveryConfig{
			Host: host, Org: p.Organization, CatalogPath: p.CatalogPath, RepoFilter: p.RepoFilter})
		if err != nil {
			return err
		}
		interval := time.Duration(p.Interval)
		if interval <= 0 {
			interval = 30 * time.Minute
		}
		r := &discoveryRunner{provider: d, host: strings.ToLower(host), org: strings.ToLower(p.Organization),
			catalogPath: p.CatalogPath, interval: interval, now: make(chan struct{}, 1)}
		m.discovery = append(m.discovery, r)
		g.Go(func() error { return m.runDiscovery(ctx, r) })
	}
	return nil
}

func (m *Main) runDiscovery(ctx context.Context, r *discoveryRunner) error {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		locs, err := r.provider.Discover(ctx)
		if err != nil {
			m.Log.Error("GitHub discovery failed", "provider", r.provider.Name(), "err", errs.MessageOf(err))
		} else {
			specs := make([]processing.LocationSpec, len(locs))
			for i, l := range locs {
				specs[i] = processing.LocationSpec{Type: l.Type, Target: l.Target, Presence: "optional"}
			}
			if err := m.Catalog.SetProviderLocations(ctx, r.provider.Name(), specs); err != nil {
				m.Log.Error("storing GitHub discovery result failed", "provider", r.provider.Name(), "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-r.now:
		}
	}
}

// githubWebhook answers GitHub push deliveries: entities that read a pushed file are processed at
// once, and discovery re-runs when a catalog file appeared or disappeared. The delivery is trusted
// only once its HMAC signature checks out.
// Without github.webhookSecret every delivery is refused, since none can be verified.
func (m *Main) githubWebhook() httpapi.WebhookFunc {
	secret := []byte(m.Config.GitHub.WebhookSecret)
	return func(ctx context.Context, r *http.Request) (httpapi.WebhookResult, error) {
		push, ok, err := github.ParsePush(r, secret)
		if err != nil || !ok {
			return httpapi.WebhookResult{Ignored: !ok && err == nil}, err
		}
		var res httpapi.WebhookResult
		for _, d := range m.discovery {
			if push.Host != "" && !strings.EqualFold(push.Host, d.host) {
				continue
			}
			plan := source.PlanPush(push, d.catalogPath)
			if plan.Rediscover && strings.HasPrefix(strings.ToLower(push.Repo), d.org+"/") {
				res.Rediscover = true
				select {
				case d.now <- struct{}{}:
				default:
				}
			}
		}
		plan := source.PlanPush(push, "")
		keys := make([]string, len(plan.Refresh))
		for i, target := range plan.Refresh {
			keys[i] = "url:" + target
		}
		res.Refreshed, err = m.Catalog.RefreshKeys(ctx, keys)
		return res, err
	}
}
