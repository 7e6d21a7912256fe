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
	"slices"
	"strings"
	"sync"
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
	// NATS as the bus stands in for Redis apart; a Redis URL with addr=
	// is a cluster's.
	s, err = loadSettings(env(map[string]string{"MANIWANI_BUS_URL": "nats://nats:4222"}), "router,live")
	if err != nil || s.BusURL != "nats://nats:4222" || s.redis() || !s.sharedBus() {
		t.Errorf("MANIWANI_BUS_URL without Redis: %+v %v", s, err)
	}
	for _, bad := range []string{"redis://nats:4222", "nats://", "nats://a:1,http://b:2"} {
		if _, err := loadSettings(env(map[string]string{"MANIWANI_BUS_URL": bad}), ""); err == nil ||
			!strings.Contains(err.Error(), "MANIWANI_BUS_URL") {
			t.Errorf("MANIWANI_BUS_URL=%q: %v", bad, err)
		}
	}
	s, err = loadSettings(env(map[string]string{"MANIWANI_REDIS_URL": "redis://h1:7000?addr=h2:7001&addr=h3:7002"}), "router")
	if err != nil || s.Redis != nil || s.RedisCluster == nil || !slices.Equal(s.RedisCluster.Addrs, []string{"h1:7000", "h2:7001", "h3:7002"}) ||
		s.RedisCluster.ReadTimeout != 500*time.Millisecond {
		t.Errorf("cluster URL: %+v %v", s.RedisCluster, err)
	}
	if s, err = loadSettings(env(map[string]string{"MANIWANI_REDIS_URL": "redis://h1:7000/2"}), ""); err != nil || s.Redis == nil || s.Redis.DB != 2 || s.RedisCluster != nil {
		t.Errorf("one Redis: %+v %v", s.Redis, err)
	}
	s, err = loadSettings(env(map[string]string{"MANIWANI_DNSBL": "dnsbl.example, tor.dnsbl.example."}), "")
	if err != nil || !slices.Equal(s.DNSBL, []string{"dnsbl.example", "tor.dnsbl.example"}) || s.DNSBLAction != "refuse" {
		t.Errorf("MANIWANI_DNSBL: %v %q %v", s.DNSBL, s.DNSBLAction, err)
	}
	_, err = loadSettings(env(map[string]string{"MANIWANI_DNSBL": "bad zone", "MANIWANI_DNSBL_ACTION": "drop"}), "")
	if err == nil || !strings.Contains(err.Error(), "MANIWANI_DNSBL:") || !strings.Contains(err.Error(), "MANIWANI_DNSBL_ACTION") {
		t.Errorf("bad blocklist settings not each named: %v", err)
	}
	s, err = loadSettings(env(map[string]string{"MANIWANI_ONION_HEADER": "X-Onion", "MANIWANI_TRUSTED_PROXIES": "127.0.0.1"}), "")
	if err != nil || s.OnionHeader != "X-Onion" {
		t.Errorf("MANIWANI_ONION_HEADER: %q %v", s.OnionHeader, err)
	}
	for _, bad := range []map[string]string{{"MANIWANI_ONION_HEADER": "X-Onion"},
		{"MANIWANI_ONION_HEADER": "X Onion:", "MANIWANI_TRUSTED_PROXIES": "127.0.0.1"}} {
		if _, err = loadSettings(env(bad), ""); err == nil || !strings.Contains(err.Error(), "MANIWANI_ONION_HEADER") {
			t.Errorf("%v: %v", bad, err)
		}
	}
	for v, want := range map[string]time.Duration{"": 0, "100ms": 100 * time.Millisecond, "off": -1, "0": -1} {
		if s, err := loadSettings(env(map[string]string{"MANIWANI_CACHE_STALE": v}), ""); err != nil || s.CacheStale != want {
			t.Errorf("MANIWANI_CACHE_STALE=%q: %v %v, want %v", v, s.CacheStale, err, want)
		}
	}
	for _, bad := range []string{"soon", "-1s", "1m"} {
		if _, err := loadSettings(env(map[string]string{"MANIWANI_CACHE_STALE": bad}), ""); err == nil ||
			!strings.Contains(err.Error(), "MANIWANI_CACHE_STALE") {
			t.Errorf("MANIWANI_CACHE_STALE=%q: %v", bad, err)
		}
	}
	for v, want := range map[string]time.Duration{"": 0, "2ms": 2 * time.Millisecond, "off": -1, "0": -1} {
		if s, err := loadSettings(env(map[string]string{"MANIWANI_LIVE_COALESCE": v}), ""); err != nil || s.LiveCoalesce != want {
			t.Errorf("MANIWANI_LIVE_COALESCE=%q: %v %v, want %v", v, s.LiveCoalesce, err, want)
		}
	}
	for _, bad := range []string{"soon", "-1ms", "2s"} {
		if _, err := loadSettings(env(map[string]string{"MANIWANI_LIVE_COALESCE": bad}), ""); err == nil ||
			!strings.Contains(err.Error(), "MANIWANI_LIVE_COALESCE") {
			t.Errorf("MANIWANI_LIVE_COALESCE=%q: %v", bad, err)
		}
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

// The internal secret: made once by "maniwani secret FILE" (a second run
// keeps it), read from the file or the variable, never both, never short;
// apart without one, the start says so.
func TestInternalSecretSettings(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	file := filepath.Join(t.TempDir(), "internal")
	if err := makeSecret(file); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(file)
	if err := makeSecret(file); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(file); string(again) != string(first) || len(strings.TrimSpace(string(first))) != 64 {
		t.Fatalf("secret file %q, then %q: want one 64-digit secret, kept", first, again)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, want 0600", fi.Mode().Perm())
	}
	redis := "redis://127.0.0.1:6379/0"
	s, err := loadSettings(env(map[string]string{"MANIWANI_REDIS_URL": redis, "MANIWANI_INTERNAL_SECRET_FILE": file}), "api")
	if err != nil || s.InternalSecret != strings.TrimSpace(string(first)) {
		t.Errorf("from the file: %q, %v", s.InternalSecret, err)
	}
	for _, bad := range []map[string]string{
		{"MANIWANI_INTERNAL_SECRET_FILE": file, "MANIWANI_INTERNAL_SECRET": "0123456789abcdef0123"},
		{"MANIWANI_INTERNAL_SECRET": "short"},
		{"MANIWANI_INTERNAL_SECRET_FILE": file + ".missing"},
	} {
		bad["MANIWANI_REDIS_URL"] = redis
		if _, err := loadSettings(env(bad), "api"); err == nil || !strings.Contains(strings.ToLower(err.Error()), "secret") {
			t.Errorf("%v: accepted (%v)", bad, err)
		}
	}
	s, _ = loadSettings(env(map[string]string{"MANIWANI_REDIS_URL": redis}), "api")
	if !strings.Contains(strings.Join(s.missing(), "\n"), "MANIWANI_INTERNAL_SECRET is not set") {
		t.Errorf("apart without a secret, the start does not say so: %q", s.missing())
	}
	if s, _ = loadSettings(env(nil), ""); strings.Contains(strings.Join(s.missing(), "\n"), "SECRET") {
		t.Errorf("one process asks for a secret it does not need: %q", s.missing())
	}
}

// handedOut holds every address freeAddr gave: a port closed here is free to
// the kernel again, and it handed one port to two processes of TestApart.
var handedOut = struct {
	sync.Mutex
	m map[string]bool
}{m: map[string]bool{}}

func freeAddr(t *testing.T) string {
	handedOut.Lock()
	defer handedOut.Unlock()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if !handedOut.m[addr] {
			handedOut.m[addr] = true
			return addr
		}
	}
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
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "MANIWANI_ADDR=127.0.0.1:0", "MANIWANI_OPS_ADDR=127.0.0.1:0", "MANIWANI_DATA_DIR="+data,
			"MANIWANI_ADMIN_PASSWORD=", "MANIWANI_DATABASE_URL=")
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		log := &strings.Builder{}
		listening := make(chan string, 1) // the line
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				log.WriteString(sc.Text() + "\n")
				if strings.Contains(sc.Text(), "maniwani listening") {
					listening <- sc.Text()
				}
			}
		}()
		select {
		case line := <-listening:
			base, err := listenedOn(line)
			if err != nil {
				t.Fatal(err)
			}
			return base, cmd, log
		case <-time.After(30 * time.Second):
			t.Fatalf("no 'listening' line in 30 s:\n%s", log)
		}
		panic("unreachable")
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
