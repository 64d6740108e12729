// Command techdocs-bench generates the TechDocs benchmark site and builds it with Portal's
// builder; run.sh runs it beside mkdocs. Usage:
//
//	go run ./bench/techdocs gen -out DIR [-pages 1000] [-seed 42]
//	go run ./bench/techdocs build -src DIR -out DIR [-cpuprofile FILE]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/billpay/portal/internal/techdocs"
	"github.com/billpay/portal/internal/techdocs/localpublisher"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: techdocs-bench gen|build [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = runGen(os.Args[2:])
	case "build":
		err = runBuild(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "techdocs-bench:", err)
		os.Exit(1)
	}
}

func runGen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	out := fs.String("out", "", "directory to write the mkdocs project into")
	pages := fs.Int("pages", 1000, "number of pages besides the index")
	seed := fs.Uint64("seed", 42, "random seed")
	_ = fs.Parse(args)
	if *out == "" {
		return fmt.Errorf("-out is required")
	}
	n, err := generate(*out, *pages, *seed)
	if err != nil {
		return err
	}
	fmt.Printf("generated %d pages, %d bytes of Markdown (%.1f KB a page)\n", *pages, n, float64(n)/float64(*pages)/1000)
	return nil
}

func runBuild(args []string) error {
	fs := flag.NewFlagSet("build", flag.ExitOnError)
	src := fs.String("src", "", "mkdocs project directory")
	out := fs.String("out", "", "output directory")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile")
	_ = fs.Parse(args)
	if *src == "" || *out == "" {
		return fmt.Errorf("-src and -out are required")
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	root, err := os.OpenRoot(*src)
	if err != nil {
		return err
	}
	defer root.Close()
	start := time.Now()
	before := cpuTime()
	ctx := context.Background()
	site, err := techdocs.Build(ctx, root.FS(), techdocs.Options{})
	if err != nil {
		return err
	}
	built := time.Since(start)
	if err := localpublisher.WriteDir(ctx, *out, site); err != nil {
		return err
	}
	fmt.Printf("portal: %d pages, %d files, %d warnings; build %.3f s, build+write %.3f s wall, %.3f s CPU in process\n",
		len(site.Pages), len(site.Files()), len(site.Warnings), built.Seconds(), time.Since(start).Seconds(), (cpuTime() - before).Seconds())
	for i, w := range site.Warnings {
		if i == 5 {
			fmt.Printf("  ... and %d more\n", len(site.Warnings)-5)
			break
		}
		fmt.Println("  warning:", w)
	}
	return nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
