package main

import (
	"context"
	"fmt"
	"net"

	"golang.org/x/sync/errgroup"

	"github.com/billpay/portal/internal/flagdsync"
)

// startFlagdSync serves flagd's sync protocol on flags.syncListen, when it is set, until runCtx ends. It needs
// m.Flags, so it runs after startFlags; it returns once the port is bound, so a port in use fails start-up.
func (m *Main) startFlagdSync(runCtx context.Context, g *errgroup.Group) error {
	addr := m.Config.Flags.SyncListen
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("flags.syncListen %s: %w", addr, err)
	}
	m.serveFlagdSync(runCtx, g, ln)
	return nil
}

// serveFlagdSync runs the sync server on ln under g; it closes ln when runCtx ends.
func (m *Main) serveFlagdSync(runCtx context.Context, g *errgroup.Group, ln net.Listener) {
	log := m.Log.With("component", "flagd-sync")
	log.Info("serving flagd sync", "addr", ln.Addr().String())
	g.Go(func() error {
		return flagdsync.Serve(runCtx, ln, flagdsync.Options{Flags: m.Flags, Log: log})
	})
}
