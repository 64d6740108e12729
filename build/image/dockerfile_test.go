package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDockerfileMatchesBuilder holds the Dockerfile (for people who build with Docker) to what the
// builder puts in the image: same user, entrypoint, port, environment, labels, passwd and group.
func TestDockerfileMatchesBuilder(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(moduleRoot(t), "Dockerfile"))
	require.NoError(t, err)
	stages := parseDockerfile(t, string(data))
	require.Len(t, stages, 2, "a builder stage and the final image")
	require.True(t, strings.HasPrefix(stages[0].from, "golang:1.26"), "builder stage: %s", stages[0].from)
	final := stages[1]
	require.Equal(t, "scratch", final.from, "the final image starts from nothing, as the builder's does")

	require.Equal(t, User, final.single(t, "USER"))
	require.Equal(t, "/", final.single(t, "WORKDIR"))
	require.Equal(t, Port, final.single(t, "EXPOSE"))
	var entrypoint []string
	require.NoError(t, json.Unmarshal([]byte(final.single(t, "ENTRYPOINT")), &entrypoint), "ENTRYPOINT in exec form")
	require.Equal(t, Entrypoint, entrypoint)
	require.Empty(t, final.all("CMD"))

	var env []string
	for _, e := range final.all("ENV") {
		for k, v := range keyValues(t, e) {
			env = append(env, k+"="+v)
		}
	}
	require.ElementsMatch(t, Env, env)

	labels := map[string]string{}
	for _, l := range final.all("LABEL") {
		for k, v := range keyValues(t, l) {
			labels[k] = v
		}
	}
	o := Options{Source: DefaultSource, Version: "${VERSION}", Revision: "${REVISION}", Created: time.Unix(0, 0)}
	want := o.Labels()
	want["org.opencontainers.image.created"] = "${CREATED}"
	require.Equal(t, want, labels)

	// The builder stage writes the same /etc/passwd and /etc/group and stamps the version the same way.
	build := strings.Join(stages[0].all("RUN"), "\n")
	require.Contains(t, build, "printf '"+strings.ReplaceAll(Passwd, "\n", `\n`)+"' > /out/etc/passwd")
	require.Contains(t, build, "printf '"+strings.ReplaceAll(Group, "\n", `\n`)+"' > /out/etc/group")
	require.Contains(t, build, "CGO_ENABLED=0")
	require.Contains(t, build, "-trimpath")
	require.Contains(t, build, "-X main.version=${VERSION}")

	copies := strings.Join(final.all("COPY"), "\n")
	for _, want := range []string{
		"--from=build /etc/ssl/certs/ca-certificates.crt " + CACertsPath,
		"--from=build --chown=65532:65532 /out/data " + DataDir,
		"--from=build /out/portal " + Binary,
	} {
		require.Contains(t, copies, want)
	}
}

type stage struct {
	from         string
	instructions [][2]string // keyword, arguments
}

func (s stage) all(keyword string) []string {
	var out []string
	for _, in := range s.instructions {
		if in[0] == keyword {
			out = append(out, in[1])
		}
	}
	return out
}

func (s stage) single(t *testing.T, keyword string) string {
	t.Helper()
	all := s.all(keyword)
	require.Len(t, all, 1, "exactly one %s", keyword)
	return all[0]
}

// parseDockerfile splits a Dockerfile into stages of instructions, joining continuation lines and
// dropping comments, as Docker's parser does for the forms this repository uses.
func parseDockerfile(t *testing.T, text string) []stage {
	t.Helper()
	var stages []stage
	var logical []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		if s := strings.TrimSpace(cur.String()); s != "" {
			logical = append(logical, s)
		}
		cur.Reset()
	}
	for _, l := range logical {
		kw, args, _ := strings.Cut(l, " ")
		kw = strings.ToUpper(kw)
		args = strings.TrimSpace(args)
		if kw == "FROM" {
			image, _, _ := strings.Cut(args, " ")
			stages = append(stages, stage{from: image})
			continue
		}
		require.NotEmpty(t, stages, "%s before FROM", kw)
		stages[len(stages)-1].instructions = append(stages[len(stages)-1].instructions, [2]string{kw, args})
	}
	return stages
}

var keyValueRE = regexp.MustCompile(`([A-Za-z0-9_.\-]+)=("(?:[^"\\]|\\.)*"|\S*)`)

// keyValues reads ENV and LABEL arguments in their key=value form.
func keyValues(t *testing.T, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	rest := strings.TrimSpace(keyValueRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := keyValueRE.FindStringSubmatch(m)
		v := sub[2]
		if strings.HasPrefix(v, `"`) {
			v = strings.ReplaceAll(strings.Trim(v, `"`), `\"`, `"`)
		}
		out[sub[1]] = v
		return ""
	}))
	require.Empty(t, rest, "only key=value pairs in %q", s)
	return out
}
