package main

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// The split deployment of docker-compose.yml, checked without Docker: the
// file is loaded, validated against the Compose schema and normalized by
// compose-go (the library docker compose itself uses), then every service,
// port and setting it names is checked against this binary and the file.

// composeApps are the Maniwani services; each runs in its own container.
var composeApps = []string{"router", "api", "ui", "markdown", "thumbnailer", "media", "live"}

// composeJobs are the containers that run once, before the services:
// "secret" makes the secret the services share (MANIWANI_INTERNAL_SECRET_FILE).
var composeJobs = []string{"secret"}

// composeBackends are the servers the services use, with the port each
// listens on in its image.
var composeBackends = map[string]int{"postgres": 5432, "redis": 6379, "minio": 9000}

// composeNeeds are the settings each service cannot do without when it runs
// apart.
var composeNeeds = map[string][]string{
	"router":      {"MANIWANI_API_URL", "MANIWANI_UI_URL", "MANIWANI_MEDIA_URL", "MANIWANI_LIVE_URL", "MANIWANI_REDIS_URL"},
	"api":         {"MANIWANI_DATABASE_URL", "MANIWANI_REDIS_URL", "MANIWANI_S3_ENDPOINT", "MANIWANI_MEDIA_URL", "MANIWANI_MARKDOWN_URL"},
	"ui":          {"MANIWANI_API_URL"},
	"markdown":    {"MANIWANI_REDIS_URL"},
	"thumbnailer": {"MANIWANI_REDIS_URL", "MANIWANI_MEDIA_URL"},
	"media":       {"MANIWANI_S3_ENDPOINT", "MANIWANI_API_URL"},
	"live":        {"MANIWANI_REDIS_URL", "MANIWANI_API_URL"},
}

func loadCompose(t *testing.T) (*types.Project, string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// No OS environment and no .env file: ${VAR:-default} takes the
	// file's own defaults, whatever the shell running the test has set.
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p, root
}

// env returns a service's value of k, and whether it sets it.
func env(s types.ServiceConfig, k string) (string, bool) {
	v, ok := s.Environment[k]
	if !ok || v == nil {
		return "", false
	}
	return *v, true
}

// hostPort splits a host:port and checks the port is a number.
func hostPort(t *testing.T, what, v string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(v)
	n, err2 := strconv.Atoi(p)
	if err != nil || err2 != nil || n <= 0 || n > 65535 {
		t.Errorf("%s = %q is not host:port", what, v)
		return "", 0
	}
	return h, n
}

// composeTargets reads the -target a service's command (or MANIWANI_TARGET)
// gives it.
func composeTargets(s types.ServiceConfig) []string {
	args := append(slices.Clone(s.Entrypoint), s.Command...)
	for i, a := range args {
		for _, f := range []string{"-target", "--target"} {
			if v, ok := strings.CutPrefix(a, f+"="); ok {
				return strings.Split(v, ",")
			}
			if a == f && i+1 < len(args) {
				return strings.Split(args[i+1], ",")
			}
		}
	}
	if v, ok := env(s, "MANIWANI_TARGET"); ok {
		return strings.Split(v, ",")
	}
	return nil
}

func TestComposeFile(t *testing.T) {
	p, root := loadCompose(t)
	known := map[string]bool{}
	for _, k := range knownSettings() {
		known[k] = true
	}

	// Every service is there, and nothing else.
	want := append(slices.Concat(composeApps, composeJobs), "postgres", "redis", "minio")
	slices.Sort(want)
	got := p.ServiceNames()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("services = %v, want %v", got, want)
	}

	// Where each Maniwani service listens inside the network.
	addrPort := map[string]int{}
	for _, name := range composeApps {
		s := p.Services[name]
		if v, ok := env(s, "MANIWANI_ADDR"); !ok {
			t.Errorf("%s: no MANIWANI_ADDR", name)
		} else if h, port := hostPort(t, name+" MANIWANI_ADDR", v); port != 0 {
			if h != "0.0.0.0" && h != "" && h != "::" {
				t.Errorf("%s: MANIWANI_ADDR=%s cannot be reached from the other containers", name, v)
			}
			addrPort[name] = port
		}
	}

	// One image, from the Dockerfile, for all of them.
	var first *types.ServiceConfig
	for _, name := range composeApps {
		s := p.Services[name]
		if s.Build == nil || s.Image == "" {
			t.Errorf("%s: wants both build (the Dockerfile) and image, got build=%v image=%q", name, s.Build, s.Image)
			continue
		}
		if s.Build.Context != root || s.Build.Dockerfile != "Dockerfile" {
			t.Errorf("%s: builds %s/%s, want the Dockerfile at the root (%s)", name, s.Build.Context, s.Build.Dockerfile, root)
		}
		if first == nil {
			first = &s
		} else if s.Image != first.Image || s.Build.Context != first.Build.Context || s.Build.Dockerfile != first.Build.Dockerfile {
			t.Errorf("%s: image %q from %s/%s differs from the others' %q", name, s.Image, s.Build.Context, s.Build.Dockerfile, first.Image)
		}
		if len(s.Entrypoint) > 0 && !slices.Equal(s.Entrypoint, types.ShellCommand{"/maniwani"}) {
			t.Errorf("%s: entrypoint %v is not the image's /maniwani", name, s.Entrypoint)
		}
		// Its own service, and only it.
		if tg := composeTargets(s); !slices.Equal(tg, []string{name}) {
			t.Errorf("%s: runs -target=%s, want -target=%s", name, strings.Join(tg, ","), name)
		}
	}

	// Settings: each is one the binary reads, and each service has what it
	// needs.
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		for k := range s.Environment {
			if strings.HasPrefix(k, "MANIWANI_") && !known[k] {
				t.Errorf("%s: sets %s, which maniwani does not read", name, k)
			}
		}
	}
	for name, needs := range composeNeeds {
		for _, k := range needs {
			if v, _ := env(p.Services[name], k); v == "" {
				t.Errorf("%s: needs %s", name, k)
			}
		}
		if v, _ := env(p.Services[name], "MANIWANI_S3_ENDPOINT"); v != "" {
			for _, k := range []string{"MANIWANI_S3_ACCESS_KEY", "MANIWANI_S3_SECRET_KEY", "MANIWANI_S3_BUCKET"} {
				if v, _ := env(p.Services[name], k); v == "" {
					t.Errorf("%s: uses S3 without %s", name, k)
				}
			}
		}
	}

	// Every address a service is given is a service of the file, on the
	// port that one listens on; refs[a][b]: a talks to b.
	refs := map[string]map[string]bool{}
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		refs[name] = map[string]bool{}
		for k, v := range s.Environment {
			if !strings.HasPrefix(k, "MANIWANI_") || v == nil || *v == "" {
				continue
			}
			var host string
			var port int
			switch {
			case k == "MANIWANI_S3_ENDPOINT":
				host, port = hostPort(t, name+" "+k, *v)
			case strings.HasSuffix(k, "_URL"):
				u, err := url.Parse(*v)
				if err != nil || u.Hostname() == "" {
					t.Errorf("%s: %s=%q is not a URL", name, k, *v)
					continue
				}
				wantScheme := map[string]string{"MANIWANI_DATABASE_URL": "postgres", "MANIWANI_REDIS_URL": "redis"}[k]
				if wantScheme == "" {
					wantScheme = "http"
				}
				if u.Scheme != wantScheme && !(wantScheme == "postgres" && u.Scheme == "postgresql") {
					t.Errorf("%s: %s=%q: scheme %q, want %s", name, k, *v, u.Scheme, wantScheme)
				}
				host = u.Hostname()
				if port, err = strconv.Atoi(u.Port()); err != nil {
					t.Errorf("%s: %s=%q names no port", name, k, *v)
					continue
				}
				if wantScheme == "http" && u.Path != "" && u.Path != "/" {
					t.Errorf("%s: %s=%q: a service URL has no path", name, k, *v)
				}
			default:
				continue
			}
			if host == "" {
				continue
			}
			if _, ok := p.Services[host]; !ok {
				t.Errorf("%s: %s=%q: no service %q in the file", name, k, *v, host)
				continue
			}
			wantPort, ok := addrPort[host]
			if !ok {
				wantPort = composeBackends[host]
			}
			if port != wantPort {
				t.Errorf("%s: %s=%q: %s listens on %d", name, k, *v, host, wantPort)
			}
			if k == "MANIWANI_S3_ENDPOINT" || k == "MANIWANI_DATABASE_URL" || k == "MANIWANI_REDIS_URL" {
				if _, ok := composeBackends[host]; !ok {
					t.Errorf("%s: %s points at %s, not at PostgreSQL, Redis or MinIO", name, k, host)
				}
			} else if !slices.Contains(composeApps, host) {
				t.Errorf("%s: %s points at %s, which is not a Maniwani service", name, k, host)
			}
			refs[name][host] = true
		}
	}
	// What is pulled is pinned to a version; MinIO, which publishes no
	// images of its community edition any more, is built by the Dockerfile
	// (the version the tests run against; TestDockerfile).
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.Build != nil {
			continue
		}
		if _, tag, ok := strings.Cut(s.Image, ":"); !ok || tag == "latest" {
			t.Errorf("%s: image %q has no pinned version", name, s.Image)
		}
	}
	if b := p.Services["minio"].Build; b == nil || b.Context != root || b.Dockerfile != "Dockerfile" || b.Target != "minio" {
		t.Errorf("minio: build %+v, want the Dockerfile at the root, target minio", b)
	}
	// MinIO keeps its port; the S3 keys are its root user's.
	if m := p.Services["minio"]; !slices.Contains(m.Command, "server") {
		t.Errorf("minio: command %v does not run minio server", m.Command)
	} else if i := slices.Index(m.Command, "--address"); i >= 0 && (i+1 >= len(m.Command) || !strings.HasSuffix(m.Command[i+1], ":9000")) {
		t.Errorf("minio: command %v does not listen on 9000", m.Command)
	}
	for _, name := range composeApps {
		s := p.Services[name]
		if v, ok := env(s, "MANIWANI_S3_ACCESS_KEY"); ok && v != envOr(p.Services["minio"], "MINIO_ROOT_USER", "minioadmin") {
			t.Errorf("%s: MANIWANI_S3_ACCESS_KEY is not MinIO's MINIO_ROOT_USER", name)
		}
		if v, ok := env(s, "MANIWANI_S3_SECRET_KEY"); ok && v != envOr(p.Services["minio"], "MINIO_ROOT_PASSWORD", "minioadmin") {
			t.Errorf("%s: MANIWANI_S3_SECRET_KEY is not MinIO's MINIO_ROOT_PASSWORD", name)
		}
		if v, ok := env(s, "MANIWANI_DATABASE_URL"); ok {
			u, _ := url.Parse(v)
			pw, _ := u.User.Password()
			pg := p.Services["postgres"]
			if u.User.Username() != envOr(pg, "POSTGRES_USER", "postgres") || pw != envOr(pg, "POSTGRES_PASSWORD", "") ||
				strings.TrimPrefix(u.Path, "/") != envOr(pg, "POSTGRES_DB", u.User.Username()) {
				t.Errorf("%s: MANIWANI_DATABASE_URL's user, password or database is not PostgreSQL's", name)
			}
		}
	}

	// Start order: a service waits until what it talks to is healthy,
	// except where that would be a cycle (media asks the api for names; the
	// api waits for media).
	for _, name := range p.ServiceNames() {
		for dep, d := range p.Services[name].DependsOn {
			if _, ok := p.Services[dep]; !ok {
				t.Errorf("%s: depends on %s, which is not in the file", name, dep)
			}
			if slices.Contains(composeJobs, dep) {
				if d.Condition != types.ServiceConditionCompletedSuccessfully {
					t.Errorf("%s: depends on the job %s with condition %q, want %s", name, dep, d.Condition, types.ServiceConditionCompletedSuccessfully)
				}
				continue
			}
			if d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s: depends on %s with condition %q, want %s", name, dep, d.Condition, types.ServiceConditionHealthy)
			}
		}
	}
	if c := dependencyCycle(p); c != nil {
		t.Errorf("depends_on has a cycle: %v", c)
	}
	for _, name := range composeApps {
		for ref := range refs[name] {
			if _, ok := p.Services[name].DependsOn[ref]; ok {
				continue
			}
			if !dependsOn(p, ref, name) {
				t.Errorf("%s: talks to %s but does not wait for it (depends_on %s: service_healthy)", name, ref, ref)
			}
		}
	}

	// Health: every container is checked; a Maniwani one by the binary
	// itself (the image has no shell, no curl) on its own ops port.
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		h := s.HealthCheck
		if slices.Contains(composeJobs, name) {
			if s.Restart != "no" {
				t.Errorf("%s: a job that runs once has restart %q, want \"no\"", name, s.Restart)
			}
			continue
		}
		if h == nil || h.Disable || len(h.Test) < 2 || (h.Test[0] != "CMD" && h.Test[0] != "CMD-SHELL") {
			t.Errorf("%s: no health check", name)
			continue
		}
		if !slices.Contains(composeApps, name) {
			continue
		}
		if h.Test[0] != "CMD" || len(h.Test) != 4 || h.Test[1] != "/maniwani" || h.Test[2] != "healthcheck" {
			t.Errorf("%s: health check %v, want [CMD /maniwani healthcheck http://127.0.0.1:PORT/readyz]", name, h.Test)
			continue
		}
		u, err := url.Parse(h.Test[3])
		ops, _ := env(s, "MANIWANI_OPS_ADDR")
		_, opsPort := hostPort(t, name+" MANIWANI_OPS_ADDR", ops)
		if err != nil || u.Scheme != "http" || u.Port() != strconv.Itoa(opsPort) || (u.Path != "/readyz" && u.Path != "/healthz") {
			t.Errorf("%s: health check asks %s, want /readyz or /healthz on its MANIWANI_OPS_ADDR (%s)", name, h.Test[3], ops)
		}
	}

	// Ports: the router's public one is the only one published.
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if name != "router" {
			if len(s.Ports) > 0 {
				t.Errorf("%s: publishes %v; only the router is public", name, s.Ports)
			}
			continue
		}
		if len(s.Ports) != 1 || s.Ports[0].Published != "8080" || int(s.Ports[0].Target) != addrPort["router"] || addrPort["router"] != 8080 {
			t.Errorf("router: ports %+v and MANIWANI_ADDR port %d, want 8080:8080 and 8080", s.Ports, addrPort["router"])
		}
	}

	// Proxies: behind the router, the compose network is trusted; the router
	// itself does not believe every X-Forwarded-For.
	inside := []netip.Addr{netip.MustParseAddr("172.18.0.2"), netip.MustParseAddr("172.30.1.5"), netip.MustParseAddr("10.0.3.7")}
	for _, name := range composeApps {
		v, _ := env(p.Services[name], "MANIWANI_TRUSTED_PROXIES")
		var nets []netip.Prefix
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			pf, err := netip.ParsePrefix(f)
			if err != nil {
				t.Errorf("%s: MANIWANI_TRUSTED_PROXIES: %q is not a CIDR", name, f)
				continue
			}
			nets = append(nets, pf)
		}
		trusts := func(a netip.Addr) bool {
			return slices.ContainsFunc(nets, func(pf netip.Prefix) bool { return pf.Contains(a) })
		}
		if name == "router" {
			if trusts(netip.MustParseAddr("8.8.8.8")) {
				t.Errorf("router: MANIWANI_TRUSTED_PROXIES=%q believes any address", v)
			}
			continue
		}
		for _, a := range inside {
			if !trusts(a) {
				t.Errorf("%s: MANIWANI_TRUSTED_PROXIES=%q does not trust the compose network (%s)", name, v, a)
			}
		}
	}

	// The internal secret: the job writes it into a named volume, which
	// every service mounts read-only and reads, after the job has run.
	job := p.Services["secret"]
	if len(job.Command) != 2 || job.Command[0] != "secret" {
		t.Fatalf("secret: command %v, want [secret FILE]", job.Command)
	}
	file := job.Command[1]
	mounts := func(s types.ServiceConfig, readOnly bool) bool {
		return slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
			_, declared := p.Volumes[v.Source]
			return v.Type == types.VolumeTypeVolume && declared && strings.HasPrefix(file, v.Target+"/") && v.ReadOnly == readOnly
		})
	}
	if !mounts(job, false) {
		t.Errorf("secret: writes %s into no named volume", file)
	}
	for _, name := range composeApps {
		s := p.Services[name]
		if v, _ := env(s, "MANIWANI_INTERNAL_SECRET_FILE"); v != file {
			t.Errorf("%s: MANIWANI_INTERNAL_SECRET_FILE=%q, want %s, the file the job writes", name, v, file)
		}
		if !mounts(s, true) {
			t.Errorf("%s: does not mount the secret's volume read-only", name)
		}
		if _, ok := s.DependsOn["secret"]; !ok {
			t.Errorf("%s: does not wait for the job that makes the secret", name)
		}
	}

	// The backends keep their data in named volumes.
	for name := range composeBackends {
		s := p.Services[name]
		ok := false
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume {
				if _, declared := p.Volumes[v.Source]; !declared {
					t.Errorf("%s: volume %q is not declared", name, v.Source)
				}
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s: keeps its data in no named volume", name)
		}
	}
}

// envOr is a service's value of k, or def when it does not set it.
func envOr(s types.ServiceConfig, k, def string) string {
	if v, ok := env(s, k); ok {
		return v
	}
	return def
}

// dependsOn tells whether a waits for b, directly or not.
func dependsOn(p *types.Project, a, b string) bool {
	seen := map[string]bool{}
	var walk func(string) bool
	walk = func(s string) bool {
		if seen[s] {
			return false
		}
		seen[s] = true
		for d := range p.Services[s].DependsOn {
			if d == b || walk(d) {
				return true
			}
		}
		return false
	}
	return walk(a)
}

// dependencyCycle returns the services of a depends_on cycle, or nil.
func dependencyCycle(p *types.Project) []string {
	names := p.ServiceNames()
	slices.Sort(names)
	for _, n := range names {
		if dependsOn(p, n, n) {
			return []string{n}
		}
	}
	return nil
}

func TestDockerfile(t *testing.T) {
	root := filepath.Join("..", "..")
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	// Instructions, with continuation lines joined and comments dropped.
	var lines []string
	var cur string
	for l := range strings.SplitSeq(string(b), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "#") || (l == "" && cur == "") {
			continue
		}
		if s, ok := strings.CutSuffix(l, "\\"); ok {
			cur += s + " "
			continue
		}
		lines = append(lines, cur+l)
		cur = ""
	}
	var froms, users, all []string
	args := map[string]string{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, l)
			users = nil // USER belongs to its stage
		case "USER":
			users = append(users, f[1])
		case "ARG":
			if k, v, ok := strings.Cut(f[1], "="); ok && len(froms) == 0 {
				args[k] = v
			}
		}
		all = append(all, l)
	}
	text := strings.Join(all, "\n")
	if len(froms) < 2 {
		t.Errorf("Dockerfile has %d stages, want a build stage and a final one", len(froms))
	}
	if len(froms) > 0 {
		final := strings.Fields(froms[len(froms)-1])[1]
		if !strings.HasPrefix(final, "gcr.io/distroless/static") && final != "scratch" {
			t.Errorf("final stage FROM %s, want distroless static or scratch", final)
		}
	}
	if len(users) == 0 {
		t.Error("final stage has no USER")
	} else if u := users[len(users)-1]; u == "root" || u == "0" || strings.HasPrefix(u, "root:") || strings.HasPrefix(u, "0:") {
		t.Errorf("final stage runs as %s", u)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}"`,
		"./cmd/maniwani", `ENTRYPOINT ["/maniwani"]`, "GOOS=$TARGETOS GOARCH=$TARGETARCH", "ARG TARGETOS TARGETARCH"} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
	// Multi-arch: the Go stages run on the builder's platform and
	// cross-compile; only the final stages are of the target's.
	for _, f := range froms {
		if strings.Contains(f, "golang:") && !strings.Contains(f, "--platform=$BUILDPLATFORM") {
			t.Errorf("%q builds on the target's platform (emulated), not the builder's: --platform=$BUILDPLATFORM", f)
		}
	}
	// The builder's Go is go.mod's.
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\S+)`).FindSubmatch(mod)
	builder := strings.Fields(strings.Replace(froms[0], "--platform=$BUILDPLATFORM ", "", 1))[1]
	for k, v := range args {
		builder = strings.ReplaceAll(builder, "${"+k+"}", v)
	}
	if goLine == nil || builder != "golang:"+string(goLine[1]) {
		t.Errorf("builder is %s, want golang:%s (go.mod's go line)", builder, goLine[1])
	}

	// The minio stage builds the MinIO the tests use.
	script, err := os.ReadFile(filepath.Join(root, "scripts", "minio.sh"))
	if err != nil {
		t.Fatal(err)
	}
	var pinned string
	if m := regexp.MustCompile(`(?m)^version=(\S+)`).FindSubmatch(script); m != nil {
		pinned = string(m[1])
	}
	if pinned == "" || args["MINIO_VERSION"] != pinned {
		t.Errorf("Dockerfile's MINIO_VERSION %q, scripts/minio.sh's %q: want the same", args["MINIO_VERSION"], pinned)
	}
	if !slices.ContainsFunc(froms, func(f string) bool { return strings.HasSuffix(f, " AS minio") }) ||
		!strings.Contains(text, `go install -trimpath -ldflags "-s -w" "github.com/minio/minio@${MINIO_VERSION}"`) {
		t.Error("Dockerfile has no minio stage building github.com/minio/minio@${MINIO_VERSION}")
	}

	ign, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", ".cache", "data", "artifacts"} {
		if !slices.Contains(strings.Fields(string(ign)), want) {
			t.Errorf(".dockerignore does not leave out %s", want)
		}
	}
}

// The profile "tracing": Jaeger, taking OTLP/HTTP on 4318 and showing its
// UI on 16686; with the endpoint README gives, every service sends it its
// traces, and without it (or without the profile) none does; no service
// waits for Jaeger.
func TestComposeTracingProfile(t *testing.T) {
	const endpoint = "http://jaeger:4318"
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if cmd := "OTEL_EXPORTER_OTLP_ENDPOINT=" + endpoint + " docker compose --profile tracing up"; !strings.Contains(string(readme), cmd) {
		t.Errorf("README does not say %q", cmd)
	}
	p, _ := loadCompose(t)
	if _, ok := p.Services["jaeger"]; ok {
		t.Error("jaeger runs without the tracing profile")
	}
	for _, name := range composeApps {
		if v, _ := env(p.Services[name], "OTEL_EXPORTER_OTLP_ENDPOINT"); v != "" {
			t.Errorf("%s: traces go to %q by default, want off", name, v)
		}
	}

	root, _ := filepath.Abs(filepath.Join("..", ".."))
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")}, cli.WithWorkingDirectory(root),
		cli.WithEnv([]string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + endpoint}), cli.WithProfiles([]string{"tracing"}))
	if err != nil {
		t.Fatal(err)
	}
	p, err = opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load with the tracing profile: %v", err)
	}
	j, ok := p.Services["jaeger"]
	if !ok {
		t.Fatal("the tracing profile has no jaeger service")
	}
	image, tag, _ := strings.Cut(j.Image, ":")
	if image != "jaegertracing/all-in-one" || tag == "" || tag == "latest" {
		t.Errorf("jaeger's image %q, want jaegertracing/all-in-one at a pinned version", j.Image)
	}
	if !slices.Equal(j.Profiles, []string{"tracing"}) {
		t.Errorf("jaeger's profiles %v, want [tracing]", j.Profiles)
	}
	if v, _ := env(j, "COLLECTOR_OTLP_ENABLED"); v != "true" || !slices.Contains(j.Expose, "4318") {
		t.Errorf("jaeger does not take OTLP on 4318: COLLECTOR_OTLP_ENABLED=%q, expose %v", v, j.Expose)
	}
	if len(j.Ports) != 1 || j.Ports[0].Published != "16686" || j.Ports[0].Target != 16686 {
		t.Errorf("jaeger publishes %+v, want its UI only, 16686:16686", j.Ports)
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Hostname() != "jaeger" || u.Port() != "4318" {
		t.Fatalf("endpoint %q", endpoint)
	}
	for _, name := range composeApps {
		s := p.Services[name]
		if v, _ := env(s, "OTEL_EXPORTER_OTLP_ENDPOINT"); v != endpoint {
			t.Errorf("%s: OTEL_EXPORTER_OTLP_ENDPOINT=%q, want %q", name, v, endpoint)
		}
		if _, ok := s.DependsOn["jaeger"]; ok {
			t.Errorf("%s waits for jaeger: the site must not need it", name)
		}
		// Each process names its spans after its target (OTEL_SERVICE_NAME
		// would make them all one service).
		if _, ok := env(s, "OTEL_SERVICE_NAME"); ok {
			t.Errorf("%s sets OTEL_SERVICE_NAME", name)
		}
	}
}
