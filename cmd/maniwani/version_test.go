package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// make release's script builds each platform's binary (here only this
// machine's, to run it) with the version and commit linked in, which
// -version says, and sums them.
func TestRelease(t *testing.T) {
	dist := t.TempDir()
	host := runtime.GOOS + "/" + runtime.GOARCH
	cmd := exec.Command("../../scripts/release.sh")
	cmd.Env = append(os.Environ(), "VERSION=v0.9.2-test", "COMMIT=4567cdef", "PLATFORMS="+host, "DIST="+dist)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("release.sh: %v\n%s", err, out)
	}
	name := "maniwani-v0.9.2-test-" + runtime.GOOS + "-" + runtime.GOARCH
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	bin, err := os.ReadFile(filepath.Join(dist, name))
	if err != nil {
		t.Fatal(err)
	}
	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	sum := sha256.Sum256(bin)
	if want := hex.EncodeToString(sum[:]) + "  " + name + "\n"; err != nil || string(sums) != want {
		t.Errorf("SHA256SUMS %q %v, want %q", sums, err, want)
	}
	out, err := exec.Command(filepath.Join(dist, name), "-version").CombinedOutput()
	want := "maniwani v0.9.2-test (commit 4567cdef, " + runtime.Version() + ", " + host + ")\n"
	if err != nil || string(out) != want {
		t.Errorf("the release's -version: %q %v, want %q", out, err, want)
	}
}
