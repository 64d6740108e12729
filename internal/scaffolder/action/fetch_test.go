package action_test

import (
	"testing"

	"github.com/billpay/portal/internal/scaffolder/action"
)

var skeleton = map[string]string{
	"template.yaml":                                          "kind: Template",
	"skeleton/README.md":                                     "# ${{ values.name }}\n{% if values.owner %}Owned by ${{ values.owner }}.{% endif %}\n{% for e in values.envs %}- ${{ e }}\n{% endfor %}",
	"skeleton/${{ values.name }}/main.go":                    "package main // ${{ values.name | upper }}\n",
	"skeleton/{% if values.docker %}Dockerfile{% endif %}":   "FROM scratch\n",
	"skeleton/{% if not values.docker %}NODOCKER{% endif %}": "none\n",
	"skeleton/static/app.js":                                 "const x = `${{ not.rendered }}`;\n",
	"skeleton/static/${{ values.name }}.css":                 "/* ${{ kept }} */\n",
	"skeleton/.github/workflows/ci.yaml":                     "run: echo {% raw %}${{ github.sha }}{% endraw %} for ${{ values.name }}\n",
	"skeleton/logo.png":                                      "\x89PNG\x00\x01${{ values.name }}",
	"skeleton/run.sh":                                        "#!/bin/sh\necho ${{ values.name }}\n",
	"skeleton/docs/index.md":                                 "Docs for ${{ values.name }}\n",
	"skeleton/docs/link.md":                                  "link:index.md",
	"plain/a.txt":                                            "${{ values.name }} stays",
	"plain/sub/b.txt":                                        "b",
	"single.txt":                                             "Hello ${{ values.name }}",
	"njk/app.yaml.njk":                                       "name: ${{ values.name }}\n",
	"njk/raw.yaml":                                           "name: ${{ values.name }}\n",
	"compat/{{ cookiecutter.name }}.txt":                     "{{ cookiecutter.name }} ${{ cookiecutter.name }} {{ cookiecutter.flag }} {{ cookiecutter.obj | jsonify }}\n",
	"trim/t.txt":                                             "{% if true %}\n  yes\n{% endif %}\n",
}

func TestFetchTemplate(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := MustEnv(t, action.Options{}, skeleton)
		res := e.Run(t, `
    - id: fetch
      action: fetch:template
      input:
        url: ./skeleton
        targetPath: out
        copyWithoutTemplating: ['static/**']
        values:
          name: payments
          owner: team-a
          docker: true
          envs: [dev, prod]
`, `{}`)
		MustOK(t, res)
		requireFiles(t, e.Files(t), map[string]string{
			"out/README.md":                 "# payments\nOwned by team-a.\n- dev\n- prod\n",
			"out/payments/main.go":          "package main // PAYMENTS\n",
			"out/Dockerfile":                "FROM scratch\n",
			"out/static/app.js":             "const x = `${{ not.rendered }}`;\n",
			"out/static/payments.css":       "/* ${{ kept }} */\n",
			"out/.github/workflows/ci.yaml": "run: echo ${{ github.sha }} for payments\n",
			"out/logo.png":                  "\x89PNG\x00\x01${{ values.name }}",
			"out/run.sh":                    "#!/bin/sh\necho payments\n",
			"out/docs/index.md":             "Docs for payments\n",
			"out/docs/link.md":              "-> index.md",
		})
		fi, err := e.ws.Stat("out/run.sh")
		if err != nil || fi.Mode().Perm()&0o100 == 0 {
			t.Fatalf("run.sh lost its execute bit: %v %v", fi, err)
		}
	})

	t.Run("ExistingFilesKeptUnlessReplace", func(t *testing.T) {
		e := MustEnv(t, action.Options{}, skeleton)
		if err := e.ws.WriteFile("single.txt", []byte("mine"), 0); err != nil {
			t.Fatal(err)
		}
		MustOK(t, e.Run(t, `
    - action: fetch:template:file
      input: {url: ./single.txt, targetPath: single.txt, values: {name: a}}
`, `{}`))
		if got := e.Files(t)["single.txt"]; got != "mine" {
			t.Fatalf("existing file replaced: %q", got)
		}
		MustOK(t, e.Run(t, `
    - action: fetch:template:file
      input: {url: ./single.txt, targetPath: single.txt, values: {name: a}, replace: true}
`, `{}`))
		if got := e.Files(t)["single.txt"]; got != "Hello a" {
			t.Fatalf("got %q", got)
		}
	})

	t.Run("TemplateFileExtension", func(t *testing.T) {
		e := MustEnv(t, action.Options{}, skeleton)
		MustOK(t, e.Run(t, `
    - action: fetch:template
      input: {url: ./njk, values: {name: a}, templateFileExtension: true}
`, `{}`))
		requireFiles(t, e.Files(t), map[string]string{"app.yaml": "name: a\n", "raw.yaml": "name: ${{ values.name }}\n"})
	})

	t.Run("CookiecutterCompat", func(t *testing.T) {
		e := MustEnv(t, action.Options{}, skeleton)
		MustOK(t, e.Run(t, `
    - action: fetch:template
      input: {url: ./compat, cookiecutterCompat: true, values: {name: pay, flag: true, obj: {a: 1}}}
`, `{}`))
		// Backstage: {{ }} is the tag, ${{x}} renders as $value, booleans print as true.
		requireFiles(t, e.Files(t), map[string]string{"pay.txt": "pay $pay true {\"a\":1}\n"})
	})

	t.Run("TrimAndLstripBlocks", func(t *testing.T) {
		e := MustEnv(t, action.Options{}, skeleton)
		MustOK(t, e.Run(t, `
    - action: fetch:template
      input: {url: ./trim, trimBlocks: true, lstripBlocks: true}
`, `{}`))
		requireFiles(t, e.Files(t), map[string]string{"t.txt": "  yes\n"})
	})

	t.Run("ErrCopyOptionsTogether", func(t *testing.T) {
		e := MustEnv(t, action.Options{}, skeleton)
		requireFailed(t, e.Run(t, `
    - action: fetch:template
      input: {url: ./skeleton, copyWithoutRender: [a], copyWithoutTemplating: [b]}
`, `{}`), "can not be used at the same time")
	})

	t.Run("ErrUnknownInput", func(t *testing.T) {
		e := MustEnv(t, action.Options{}, skeleton)
		requireFailed(t, e.Run(t, `
    - action: fetch:template
      input: {url: ./skeleton, nope: 1}
`, `{}`), `additional property "nope"`)
	})

	t.Run("ErrRenderingInAFile", func(t *testing.T) {
		e := MustEnv(t, action.Options{}, map[string]string{"template.yaml": "", "bad/x.txt": "${{ values.name | nofilter }}"})
		requireFailed(t, e.Run(t, `
    - action: fetch:template
      input: {url: ./bad, values: {name: a}}
`, `{}`), "filter not found: nofilter")
	})
}

func TestFetchRefusesToLeave(t *testing.T) {
	files := map[string]string{
		"template.yaml":               "",
		"skeleton/${{ values.path }}": "escaped",
		"skeleton/ok.txt":             "ok",
		"leak/passwd":                 "link:/etc/passwd",
		"leakdir/up":                  "link:../../..",
		"../other/secret.txt":         "other template's secret",
	}
	for _, tc := range []struct{ name, steps, want string }{
		{"RenderedNameClimbsOut", `
    - action: fetch:template
      input: {url: ./skeleton, values: {path: ../../../evil}}
`, "outside"},
		{"URLClimbsOut", `
    - action: fetch:plain
      input: {url: ../other}
`, "outside the template's own directory"},
		{"URLAbsolutePath", `
    - action: fetch:plain
      input: {url: /etc}
`, "absolute path"},
		{"URLOtherLocation", `
    - action: fetch:plain
      input: {url: "file:///etc"}
`, "outside the template"},
		{"URLOtherHost", `
    - action: fetch:plain
      input: {url: "https://example.com/x"}
`, "outside the template's own location"},
		{"SymlinkToAbsoluteFile", `
    - action: fetch:plain
      input: {url: ./leak}
`, "outside"},
		{"SymlinkClimbingOut", `
    - action: fetch:plain
      input: {url: ./leakdir/up/other}
`, "outside"},
		{"PlainFileThroughSymlink", `
    - action: fetch:plain:file
      input: {url: ./leak/passwd, targetPath: p}
`, "outside"},
		{"TargetPathClimbsOut", `
    - action: fetch:plain
      input: {url: ./skeleton, targetPath: ../../x}
`, "outside the workspace"},
		{"TargetPathAbsolute", `
    - action: fetch:plain:file
      input: {url: ./skeleton/ok.txt, targetPath: /tmp/x}
`, "outside the workspace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := MustEnv(t, action.Options{}, files)
			requireFailed(t, e.Run(t, tc.steps, `{}`), tc.want)
		})
	}
}

func TestFetchPlain(t *testing.T) {
	e := MustEnv(t, action.Options{}, skeleton)
	MustOK(t, e.Run(t, `
    - action: fetch:plain
      input: {url: ./plain, targetPath: p}
    - action: fetch:plain:file
      input: {url: ./single.txt, targetPath: deep/single.txt}
`, `{}`))
	requireFiles(t, e.Files(t), map[string]string{
		"p/a.txt": "${{ values.name }} stays", "p/sub/b.txt": "b", "deep/single.txt": "Hello ${{ values.name }}",
	})
}
