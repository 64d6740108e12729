package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/catalog/processing"
	"github.com/billpay/portal/internal/catalog/source"
	"github.com/billpay/portal/internal/errs"
)

// allKinds lets the offline validator accept every built-in kind: which kinds a location may
// contribute is the server's policy, not a property of the file.
var allKinds = []string{"Component", "API", "Resource", "System", "Domain", "Group", "User", "Location", "Template"}

// runCatalogValidate checks catalog files the way the catalog would read them — YAML, entity rules,
// relations, $text/$json/$yaml placeholders and Location targets, followed recursively — and prints
// every problem as file:line: message.
func runCatalogValidate(ctx context.Context, paths []string, stdout, stderr io.Writer) int {
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "Usage: portal catalog validate PATH...")
		return 2
	}
	v := &validator{
		proc: &processing.Processor{Reader: source.FileReader{}, Rules: []processing.Rule{{Allow: allKinds}}},
		seen: map[string]bool{},
		refs: map[string]string{},
		out:  stderr,
	}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			v.report(p, 0, err.Error())
			continue
		}
		v.file(ctx, abs, abs)
	}
	if v.problems > 0 {
		fmt.Fprintf(stderr, "%d problem(s) in %d entities\n", v.problems, v.count)
		return 1
	}
	fmt.Fprintf(stdout, "ok: %d entities in %d files\n", v.count, len(v.seen))
	return 0
}

type validator struct {
	proc     *processing.Processor
	seen     map[string]bool
	refs     map[string]string // ref → file:line where it was first defined
	out      io.Writer
	count    int
	problems int
}

func (v *validator) report(file string, line int, msg string) {
	v.problems++
	rel := file
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(wd, file); err == nil && !strings.HasPrefix(r, "..") {
			rel = r
		}
	}
	if line > 0 {
		fmt.Fprintf(v.out, "%s:%d: %s\n", rel, line, msg)
	} else {
		fmt.Fprintf(v.out, "%s: %s\n", rel, msg)
	}
}

func (v *validator) file(ctx context.Context, path, origin string) {
	if v.seen[path] {
		return
	}
	v.seen[path] = true
	data, err := os.ReadFile(path)
	if err != nil {
		v.report(path, 0, err.Error())
		return
	}
	for _, doc := range catalog.ParseDocuments(data) {
		if doc.Err != nil {
			v.report(path, doc.Line, errs.MessageOf(doc.Err))
			continue
		}
		v.entity(ctx, doc, path, origin)
	}
}

func (v *validator) entity(ctx context.Context, doc catalog.Document, path, origin string) {
	e := doc.Entity
	v.count++
	e.SetAnnotation(catalog.AnnotationManagedByLocation, "file:"+path)
	e.SetAnnotation(catalog.AnnotationManagedByOriginLocation, "file:"+origin)
	res := v.proc.Process(ctx, processing.Claim{EntityRef: e.Ref().String(), Unprocessed: e})
	for _, item := range res.Errors {
		msg, _ := item.Error["message"].(string)
		if msg == "" {
			msg = item.Message
		}
		v.report(path, doc.Line, fmt.Sprintf("%s: %s", e.Ref(), msg))
	}
	if res.Processed == nil {
		return
	}
	ref := e.Ref().String()
	if first, dup := v.refs[ref]; dup {
		v.report(path, doc.Line, fmt.Sprintf("%s is already defined at %s", ref, first))
	} else {
		v.refs[ref] = fmt.Sprintf("%s:%d", path, doc.Line)
	}
	if !strings.EqualFold(e.Kind(), "Location") {
		return
	}
	// Follow file targets by reading their files again, so problems in them get exact lines; the
	// processor already reported the targets it could not read.
	if t, _ := e.Spec()["type"].(string); t != "" && t != "file" {
		return
	}
	for _, t := range processing.LocationTargets(e) {
		if strings.Contains(t, "://") {
			continue
		}
		target := source.ResolveFile(path, t)
		if _, err := os.Stat(target); err == nil {
			v.file(ctx, target, origin)
		}
	}
}
