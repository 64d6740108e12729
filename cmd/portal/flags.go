package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/flags"
	flagservice "github.com/billpay/portal/internal/flags/service"
)

// seedPrincipal is who the audit log says imported the repository's flag files; seeding is the operator's
// own configuration, so it acts as an admin.
var seedPrincipal = auth.Principal{Subject: "portal:seed", Kind: auth.KindService, Via: "config", Admin: true}

func (m *Main) startFlags(ctx, runCtx context.Context) error {
	cfg := m.Config.Flags
	envs := make([]flagservice.Environment, len(cfg.Environments))
	for i, e := range cfg.Environments {
		envs[i] = flagservice.Environment{Name: e.Name, Protected: e.Protected, ClientKeys: e.ClientKeys, ServerKeys: e.ServerKeys}
	}
	guest := ""
	if m.Config.Auth.Guest {
		guest = cfg.GuestEnvironment
	}
	svc, err := flagservice.New(m.Store, flagservice.Config{
		Environments: envs, PollInterval: time.Duration(cfg.PollInterval), GuestEnvironment: guest,
		RatePerSecond: cfg.RateLimit.PerSecond, Burst: cfg.RateLimit.Burst, Log: m.Log.With("component", "flags"),
	})
	if err != nil {
		return err
	}
	if err := svc.Start(runCtx); err != nil {
		return err
	}
	m.Flags = svc
	return m.seedFlags(ctx)
}

// seedFlags imports <environment>.flagd.json from the seed directory into environments never written before.
func (m *Main) seedFlags(ctx context.Context) error {
	dir := m.Config.Flags.SeedDir
	if dir == "" {
		return nil
	}
	for _, e := range m.Config.Flags.Environments {
		path := filepath.Join(dir, e.Name+".flagd.json")
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("flags.seedDir: %v", err)
		}
		res, imported, err := m.Flags.Seed(ctx, seedPrincipal, e.Name, data)
		if err != nil {
			return fmt.Errorf("flags.seedDir: %s: %w", path, err)
		}
		if imported {
			m.Log.Info("imported seed flags", "environment", e.Name, "file", path, "flags", len(res.Created))
		}
	}
	return nil
}

const flagsUsage = `Usage:
  portal flags validate FILE...                    check flagd flag files offline
  portal flags export [--config FILE] ENV          print an environment as flagd JSON
  portal flags import [--config FILE] [--mode replace|merge] ENV FILE
                                                   load a flagd file into an environment (audited)
`

// runFlags is the flags command family. export and import open the database portal.yaml names, so they act on
// the same flags a running portal serves; a running portal picks an import up within flags.pollInterval.
func runFlags(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, flagsUsage)
		return 2
	}
	switch args[0] {
	case "validate":
		return runFlagsValidate(args[1:], stdout, stderr)
	case "export", "import":
	default:
		fmt.Fprintf(stderr, "portal flags: unknown command %q\n\n%s", args[0], flagsUsage)
		return 2
	}
	fset := flag.NewFlagSet("flags "+args[0], flag.ContinueOnError)
	fset.SetOutput(stderr)
	configPath := fset.String("config", "", "path to portal.yaml (default: ./portal.yaml when it exists)")
	mode := fset.String("mode", "replace", "import: replace deletes flags the file lacks; merge keeps them")
	if err := fset.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest := fset.Args()
	if (args[0] == "export" && len(rest) != 1) || (args[0] == "import" && len(rest) != 2) {
		fmt.Fprint(stderr, flagsUsage)
		return 2
	}
	sf := serverFlags{config: *configPath}
	if sf.config == "" {
		if _, err := os.Stat("portal.yaml"); err == nil {
			sf.config = "portal.yaml"
		}
	}
	err := withFlagService(ctx, sf, func(svc *flagservice.Service) error {
		if args[0] == "export" {
			doc, err := svc.Export(rest[0])
			if err != nil {
				return err
			}
			_, err = stdout.Write(doc)
			return err
		}
		data, err := os.ReadFile(rest[1])
		if err != nil {
			return err
		}
		res, err := svc.Import(ctx, cliPrincipal(), rest[0], data, flagservice.ImportMode(*mode))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s is now at version %d: %d created, %d updated, %d deleted, %d unchanged\n",
			rest[0], res.Version, len(res.Created), len(res.Updated), len(res.Deleted), res.Unchanged)
		return nil
	})
	if err != nil {
		fmt.Fprintf(stderr, "portal flags %s: %s\n", args[0], errs.MessageOf(err))
		return 1
	}
	return 0
}

// cliPrincipal is who a CLI import acts as: whoever can reach the database is an operator.
func cliPrincipal() auth.Principal {
	subject := "cli"
	if u := os.Getenv("USER"); u != "" {
		subject = "cli:" + u
	}
	return auth.Principal{Subject: subject, Kind: auth.KindService, Via: "cli", Admin: true}
}

func withFlagService(ctx context.Context, sf serverFlags, fn func(*flagservice.Service) error) error {
	cfg, err := loadConfig(sf)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	envs := make([]flagservice.Environment, len(cfg.Flags.Environments))
	for i, e := range cfg.Flags.Environments {
		envs[i] = flagservice.Environment{Name: e.Name, Protected: e.Protected}
	}
	svc, err := flagservice.New(st, flagservice.Config{Environments: envs, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := svc.Start(runCtx); err != nil {
		return err
	}
	return fn(svc)
}

// runFlagsValidate checks files with the same rules the server applies on import, printing each problem as
// file: problem.
func runFlagsValidate(paths []string, stdout, stderr io.Writer) int {
	if len(paths) == 0 {
		fmt.Fprint(stderr, flagsUsage)
		return 2
	}
	failed := 0
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", p, err)
			failed++
			continue
		}
		doc, err := flags.Parse(data)
		if err != nil {
			var ve *flags.ValidationError
			if errors.As(err, &ve) {
				for _, problem := range ve.Problems {
					fmt.Fprintf(stderr, "%s: %s\n", p, problem)
				}
			} else {
				fmt.Fprintf(stderr, "%s: %v\n", p, err)
			}
			failed++
			continue
		}
		fmt.Fprintf(stdout, "ok: %s (%d flags)\n", p, len(doc.Flags))
	}
	if failed > 0 {
		return 1
	}
	return 0
}
