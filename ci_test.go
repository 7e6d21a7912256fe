package maniwani_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// workflow is what ci_test reads of a GitHub Actions workflow.
type workflow struct {
	Jobs map[string]struct {
		RunsOn string `yaml:"runs-on"`
		Steps  []struct {
			Name string
			Uses string
			Run  string
			With map[string]string
		}
	}
}

// commands are the shell commands of a step's run: one per line, and
// each part of a line joined with && or ;.
func commands(run string) []string {
	var out []string
	for _, line := range strings.Split(run, "\n") {
		for _, part := range strings.FieldsFunc(strings.ReplaceAll(line, "&&", ";"), func(r rune) bool { return r == ';' }) {
			if c := strings.Join(strings.Fields(part), " "); c != "" && !strings.HasPrefix(c, "#") {
				out = append(out, c)
			}
		}
	}
	return out
}

// hasGo tells whether dir or a folder under it holds Go files.
func hasGo(dir string) bool {
	found := false
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") {
			found = true
			return fs.SkipAll
		}
		return nil
	})
	return found
}

// The repository's CI workflow runs `make test` on Ubuntu with the Go of
// go.mod, as .ci/run does; and go vet, staticcheck and the race detector,
// on packages that exist.
func TestCIWorkflow(t *testing.T) {
	b, err := os.ReadFile(".github/workflows/ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	var w workflow
	if err := yaml.Unmarshal(b, &w); err != nil {
		t.Fatalf("ci.yml: %v", err)
	}
	found := map[string]bool{}
	for name, job := range w.Jobs {
		if job.RunsOn != "ubuntu-latest" {
			t.Errorf("job %s runs on %q, not ubuntu-latest", name, job.RunsOn)
		}
		goVersion := false
		for _, s := range job.Steps {
			if strings.HasPrefix(s.Uses, "actions/setup-go@") && s.With["go-version-file"] == "go.mod" {
				goVersion = true
			}
			for _, c := range commands(s.Run) {
				switch {
				case c == "make test":
					found["make test"] = true
				case c == "go vet ./...":
					found["go vet"] = true
				case c == "./scripts/staticcheck.sh ./...":
					found["staticcheck"] = true
				case strings.HasPrefix(c, "go test -race "):
					found["race"] = true
					for _, f := range strings.Fields(c)[3:] {
						if !strings.HasPrefix(f, "./") {
							continue // a flag
						}
						if !hasGo(strings.TrimSuffix(strings.TrimSuffix(f, "..."), "/")) {
							t.Errorf("the race step names %s, which holds no Go package", f)
						}
					}
				}
			}
		}
		if !goVersion {
			t.Errorf("job %s does not take its Go from go.mod (actions/setup-go, go-version-file: go.mod)", name)
		}
	}
	for _, want := range []string{"make test", "go vet", "staticcheck", "race"} {
		if !found[want] {
			t.Errorf("ci.yml runs no %s step", want)
		}
	}
	run, err := os.ReadFile(".ci/run")
	if err != nil || !slices.Contains(commands(string(run)), "make test") {
		t.Errorf(".ci/run does not run make test: %v", err)
	}
}
