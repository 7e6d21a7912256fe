package maniwani_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// fileRef is a name that reads as a file of this repository: a path or a
// bare name ending in one of the extensions its sources and docs have. It
// is not part of a URL, an absolute path or a $variable's path (the
// character before it), nor of a longer name (the one after, checked by
// fileRefs: RE2 has no lookahead).
var fileRef = regexp.MustCompile(`(?:^|[^\w./:@$%{}~-])((?:[\w.-]+/)*[\w-][\w.-]*\.(?:go|sh|md|proto|ya?ml|html|js|css|sql|mod))`)

// Every file that a doc, or a comment of the Go code or of a script, names
// exists, beside it or from a folder above it (a bare name: anywhere), so
// that a file moved or deleted takes its mentions along.
func TestReferencedFilesExist(t *testing.T) {
	var texts []string
	names := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", ".cache", "data", "bin", "artifacts", "testdata", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		names[d.Name()] = true
		switch filepath.Ext(path) {
		case ".go", ".md", ".sh", ".yml", ".yaml", ".proto", ".html", ".js", ".css":
			texts = append(texts, path)
		default:
			switch d.Name() {
			case "Makefile", "Dockerfile", "run":
				texts = append(texts, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range texts {
		for _, ref := range fileRefs(t, path) {
			if !refExists(path, ref.name, names) {
				t.Errorf("%s:%d names %s, which does not exist", path, ref.line, ref.name)
			}
		}
	}
}

type ref struct {
	name string
	line int
}

// fileRefs gives the file names path mentions: in a Go file or a script,
// in its comments only (its code names files it opens, and fails without
// them; a script's may be outside the repository).
func fileRefs(t *testing.T, path string) []ref {
	var refs []ref
	scan := func(text string, line int) {
		for i, l := range strings.Split(text, "\n") {
			for _, m := range fileRef.FindAllStringSubmatchIndex(l, -1) {
				if r, _ := utf8.DecodeRuneInString(l[m[3]:]); r == '/' || r == '-' || r == '_' ||
					unicode.IsLetter(r) || unicode.IsDigit(r) {
					continue
				}
				refs = append(refs, ref{strings.TrimPrefix(l[m[2]:m[3]], "./"), line + i})
			}
		}
	}
	if strings.HasSuffix(path, ".go") {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range f.Comments {
			for _, c := range g.List {
				scan(c.Text, fset.Position(c.Pos()).Line)
			}
		}
		return refs
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if hashComments(path) {
		// The comments only, as in Go: each line from its # on.
		lines := strings.Split(text, "\n")
		for i, l := range lines {
			lines[i] = ""
			if j := strings.Index(l, "#"); j >= 0 && (j == 0 || l[j-1] == ' ' || l[j-1] == '\t') {
				lines[i] = l[j:]
			}
		}
		text = strings.Join(lines, "\n")
	}
	scan(text, 1)
	return refs
}

// hashComments tells whether path is a script or a config whose comments
// start with #.
func hashComments(path string) bool {
	switch filepath.Ext(path) {
	case ".sh", ".yml", ".yaml":
		return true
	}
	switch filepath.Base(path) {
	case "Makefile", "Dockerfile", "run":
		return true
	}
	return false
}

func refExists(from, name string, names map[string]bool) bool {
	if !strings.Contains(name, "/") {
		return names[name]
	}
	for dir := filepath.Dir(from); ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return true
		}
		if dir == "." {
			return false
		}
	}
}
