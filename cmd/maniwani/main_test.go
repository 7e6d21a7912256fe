package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLoadSettings(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	s, err := loadSettings(env(nil), "")
	if err != nil || s.Addr != "127.0.0.1:8080" || s.OpsAddr != "127.0.0.1:9090" ||
		s.DatabaseURL != "sqlite://data/maniwani.db" {
		t.Fatalf("defaults: %+v %v", s, err)
	}
	_, err = loadSettings(env(map[string]string{"MANIWANI_ADDR": "8080", "MANIWANI_TRUSTED_PROXIES": "10.0.0.0/99"}), "")
	if err == nil || !strings.Contains(err.Error(), "MANIWANI_ADDR") || !strings.Contains(err.Error(), "MANIWANI_TRUSTED_PROXIES") {
		t.Fatalf("bad settings not each named: %v", err)
	}
	if !s.all() || len(s.URLs) != 0 {
		t.Fatalf("default targets: %+v", s)
	}
	// Apart, Redis is needed, and a URL that is not one is refused.
	_, err = loadSettings(env(map[string]string{"MANIWANI_API_URL": "api:8081"}), "router,live")
	for _, want := range []string{"MANIWANI_REDIS_URL", "MANIWANI_API_URL"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("router apart: %v lacks %s", err, want)
		}
	}
	// The others' URLs missing are said (the process still starts).
	s, _ = loadSettings(env(map[string]string{"MANIWANI_REDIS_URL": "redis://127.0.0.1:6379/0"}), "router,live")
	said := strings.Join(s.missing(), "\n")
	for _, want := range []string{"MANIWANI_API_URL", "MANIWANI_UI_URL", "MANIWANI_MEDIA_URL"} {
		if !strings.Contains(said, want) {
			t.Errorf("router apart: %q lacks %s", said, want)
		}
	}
	if strings.Contains(said, "MANIWANI_LIVE_URL") {
		t.Errorf("live runs in the process, yet its URL is asked for: %q", said)
	}
	if _, err = loadSettings(env(nil), "api,nonsense"); err == nil || !strings.Contains(err.Error(), "nonsense") {
		t.Errorf("unknown target: %v", err)
	}
	s, err = loadSettings(env(map[string]string{"MANIWANI_REDIS_URL": "redis://127.0.0.1:6379/0",
		"MANIWANI_API_URL": "http://api:8081/"}), "ui,markdown")
	if err != nil || s.all() || !s.Targets["ui"] || !s.Targets["markdown"] || s.URLs["api"] != "http://api:8081" {
		t.Errorf("ui and markdown: %+v %v", s, err)
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// The binary as a newcomer runs it: starts on embedded defaults, makes board
// b and the admin account once, serves posts, and stops cleanly on SIGTERM.
func TestBinaryStartsPostsAndStops(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "maniwani")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	start := func() (string, *exec.Cmd, *strings.Builder) {
		addr := freeAddr(t)
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "MANIWANI_ADDR="+addr, "MANIWANI_OPS_ADDR="+freeAddr(t), "MANIWANI_DATA_DIR="+data,
			"MANIWANI_ADMIN_PASSWORD=", "MANIWANI_DATABASE_URL=")
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		log := &strings.Builder{}
		listening := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				log.WriteString(sc.Text() + "\n")
				if strings.Contains(sc.Text(), "maniwani listening") {
					close(listening)
				}
			}
		}()
		select {
		case <-listening:
		case <-time.After(30 * time.Second):
			t.Fatalf("no 'listening' line in 30 s:\n%s", log)
		}
		return "http://" + addr, cmd, log
	}
	stop := func(cmd *exec.Cmd) {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("exit after SIGTERM: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("still running 20 s after SIGTERM")
		}
	}

	base, cmd, log := start()
	resp, err := http.PostForm(base+"/b/post", url.Values{"com": {"hello"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/b/thread/1" {
		t.Fatalf("form post landed on %s", resp.Request.URL)
	}
	stop(cmd)
	if !strings.Contains(log.String(), `"password"`) {
		t.Fatalf("no random admin password in the log:\n%s", log)
	}
	if !strings.Contains(log.String(), "stopped cleanly") {
		t.Fatalf("no clean stop in the log:\n%s", log)
	}

	// A second start keeps the data and creates nothing again.
	base, cmd, log = start()
	r, err := http.Get(base + "/b/thread/1.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Posts []struct{ Com string } }
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if json.Unmarshal(b, &v); len(v.Posts) != 1 || v.Posts[0].Com != "hello" {
		t.Fatalf("after restart: %s", b)
	}
	stop(cmd)
	if strings.Contains(log.String(), "created") {
		t.Fatalf("second start created again:\n%s", log)
	}
}
