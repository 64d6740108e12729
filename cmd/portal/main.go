// Command portal is BillPay's internal developer platform: `portal serve` runs it; the other
// subcommands are offline tools for CI and operators.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `Usage: portal <command> [flags]

Commands:
  serve                      run the portal (default address :7007)
  catalog validate PATH...   check catalog-info files offline; exits non-zero on any error
  flags validate FILE...     check flagd flag files offline
  flags export ENV           print an environment's flags as flagd JSON
  flags import ENV FILE      load a flagd file into an environment
  scaffolder dry-run TEMPLATE.yaml --values VALUES.yaml [--out DIR]
                             run a template offline and print its steps and files
  techdocs build SRC         build docs offline (--out DIR; warnings as FILE:LINE; --strict)
  techdocs publish           publish a built site through the configured publisher
  migrate                    create or update the database schema
  version                    print the version

Run 'portal <command> -h' for a command's flags.
`

// run is main without process exits, so tests can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], stderr)
	case "catalog":
		if len(args) < 2 || args[1] != "validate" {
			fmt.Fprint(stderr, "Usage: portal catalog validate PATH...\n")
			return 2
		}
		return runCatalogValidate(ctx, args[2:], stdout, stderr)
	case "flags":
		return runFlags(ctx, args[1:], stdout, stderr)
	case "scaffolder":
		return runScaffolder(ctx, args[1:], stdout, stderr)
	case "techdocs":
		return runTechDocs(ctx, args[1:], stdout, stderr)
	case "migrate":
		err = runMigrate(ctx, args[1:], stdout)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "portal %s\n", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "portal: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "portal: %v\n", err)
		return 1
	}
	return 0
}

// serverFlags are the flags shared by commands that read portal.yaml.
type serverFlags struct {
	config string
	listen string
}

func parseServerFlags(name string, args []string, stderr io.Writer) (serverFlags, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serverFlags
	fs.StringVar(&f.config, "config", "", "path to portal.yaml (default: ./portal.yaml when it exists)")
	fs.StringVar(&f.listen, "listen", "", "address to listen on, overriding config and PORTAL_LISTEN")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if f.config == "" {
		if _, err := os.Stat("portal.yaml"); err == nil {
			f.config = "portal.yaml"
		}
	}
	return f, nil
}

func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	f, err := parseServerFlags("serve", args, stderr)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(f)
	if err != nil {
		return err
	}
	m := NewMain(cfg, stderr)
	if err := m.Start(ctx); err != nil {
		return err
	}
	m.Log.Info("portal ready", "addr", m.Addr(), "version", version)
	<-ctx.Done()
	m.Log.Info("shutting down")
	return m.Close()
}

func runMigrate(ctx context.Context, args []string, stdout io.Writer) error {
	f, err := parseServerFlags("migrate", args, os.Stderr)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(f)
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
	if err := st.MigrateSearch(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database schema is up to date (%s)\n", st.Dialect())
	return nil
}
