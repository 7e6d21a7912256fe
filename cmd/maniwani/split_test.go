package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/maniwani/maniwani/internal/testdb"
	"github.com/maniwani/maniwani/internal/testutil"
)

// redisServer starts a private redis-server on a free port, so the keys and
// channels of the processes under test are theirs alone, and stops it when
// the test ends. Without redis-server on PATH the test skips, except under
// CI=true, where that is a failure.
func redisServer(t *testing.T) string {
	t.Helper()
	return "redis://" + newPrivateRedis(t).addr + "/0"
}

// privateRedis is a private redis-server (see redisServer) that can be
// stopped and started again, empty, on the same port.
type privateRedis struct {
	t    *testing.T
	path string
	addr string
	cmd  *exec.Cmd
	out  bytes.Buffer
}

func newPrivateRedis(t *testing.T) *privateRedis {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is required under CI=true: %v", err)
		}
		t.Skipf("no redis-server on PATH: %v", err)
	}
	r := &privateRedis{t: t, path: path, addr: freeAddr(t)}
	t.Cleanup(func() { // after stop: out is written no more
		if t.Failed() {
			t.Logf("redis-server's output:\n%s", r.out.String())
		}
	})
	t.Cleanup(r.stop)
	r.start()
	return r
}

// start starts the server and waits until it answers.
func (r *privateRedis) start() {
	r.t.Helper()
	_, port, _ := strings.Cut(r.addr, ":")
	r.cmd = exec.Command(r.path, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("redis-server: %v", err)
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: r.addr, MaxRetries: -1})
	defer rdb.Close()
	testutil.Eventually(r.t, 10*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := rdb.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis-server on %s does not answer: %v", r.addr, err)
		}
		return nil
	})
}

// stop kills the server, if it runs.
func (r *privateRedis) stop() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	r.cmd.Wait()
	r.cmd = nil
}

// buildBinary builds the command into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "maniwani")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// proc is a running maniwani process.
type proc struct {
	name, base string
	cmd        *exec.Cmd
	mu         sync.Mutex
	log        strings.Builder
}

func (p *proc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// listenedOn is the public address a "maniwani listening" log line names.
func listenedOn(line string) (string, error) {
	var l struct{ Public string }
	if err := json.Unmarshal([]byte(line), &l); err != nil || l.Public == "" {
		return "", fmt.Errorf("no public address in %q (%v)", line, err)
	}
	return l.Public, nil
}

// startProc starts the binary with env and waits until it listens. It
// listens on ports of its choosing (port 0), named by its log.
func startProc(t *testing.T, bin, name string, env ...string) *proc {
	t.Helper()
	p := &proc{name: name}
	p.cmd = exec.Command(bin)
	p.cmd.Env = append(os.Environ(), append([]string{"MANIWANI_ADDR=127.0.0.1:0", "MANIWANI_OPS_ADDR=127.0.0.1:0",
		"MANIWANI_DATA_DIR=" + t.TempDir()}, env...)...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1) // the line
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		once := sync.Once{}
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if strings.Contains(sc.Text(), "maniwani listening") {
				once.Do(func() { listening <- sc.Text() })
			}
		}
	}()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			p.cmd.Process.Kill()
			<-done
			t.Errorf("%s still running 20 s after SIGTERM", name)
		}
		if t.Failed() {
			t.Logf("log of %s:\n%s", name, p.logs())
		}
	})
	select {
	case line := <-listening:
		base, err := listenedOn(line)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p.base = base
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no 'listening' line in 30 s:\n%s", name, p.logs())
	}
	return p
}

var splitClient = &http.Client{
	Transport:     &http.Transport{DisableCompression: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       10 * time.Second,
}

// post posts com through p from the address ip, as a client that wants
// JSON, and returns the thread and the post's number.
func post(t *testing.T, p *proc, resto int64, com, ip string) (thread, no int64) {
	t.Helper()
	form := url.Values{"com": {com}}
	if resto != 0 {
		form.Set("resto", fmt.Sprint(resto))
	}
	req, _ := http.NewRequest(http.MethodPost, p.base+"/b/post", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Forwarded-For", ip) // each post from its own address: no cooldown
	resp, err := splitClient.Do(req)
	if err != nil {
		t.Fatalf("post through %s: %v", p.name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v struct {
		Board      string
		Thread, No int64
		Error      string
	}
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &v) != nil || v.Board != "b" || v.No == 0 {
		t.Fatalf("post through %s: %d %s", p.name, resp.StatusCode, b)
	}
	return v.Thread, v.No
}

// fetch GETs path from p and decodes its JSON into v; it returns X-Cache.
func fetch(t *testing.T, p *proc, path string, v any) string {
	t.Helper()
	resp, err := splitClient.Get(p.base + path)
	if err != nil {
		t.Fatalf("GET %s from %s: %v", path, p.name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s from %s: %d %s", path, p.name, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s from %s: %v in %s", path, p.name, err, b)
	}
	return resp.Header.Get("X-Cache")
}

type threadJSON struct {
	Posts []struct{ No int64 }
}

type catalogJSON []struct {
	Threads []struct {
		No          int64
		Replies     int
		LastReplies []struct{ No int64 } `json:"last_replies"`
	}
}

// newest is the number of the thread's last post and its replies as the
// page shows them.
func (c catalogJSON) newest(thread int64) (last int64, replies int) {
	for _, pg := range c {
		for _, th := range pg.Threads {
			if th.No == thread {
				last = th.No
				if n := len(th.LastReplies); n > 0 {
					last = th.LastReplies[n-1].No
				}
				return last, th.Replies
			}
		}
	}
	return 0, -1
}

// Two routers (two whole processes) on one PostgreSQL and one Redis: a
// reply posted through one is in the thread and the catalog of that router
// at once, and of the other within a moment (the architecture: "visible on
// every router within a moment"), after both had the pages cached. The
// other router learns of the write through Redis Pub/Sub, so a read sent
// the instant the writer is answered can beat the event by a fraction of a
// millisecond; the test bounds that delay instead of pretending it is zero.
func TestTwoProcessesShareRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary twice")
	}
	t0 := time.Now()
	redisURL := redisServer(t)
	dbURL := testdb.Postgres(t)
	bin := buildBinary(t)
	env := []string{"MANIWANI_DATABASE_URL=" + dbURL, "MANIWANI_REDIS_URL=" + redisURL,
		"MANIWANI_TRUSTED_PROXIES=127.0.0.1/32", "MANIWANI_ADMIN_PASSWORD=test-password"}
	a := startProc(t, bin, "A", env...) // first: it makes board b
	b := startProc(t, bin, "B", env...)
	t.Logf("set up in %v", time.Since(t0).Round(time.Millisecond))

	thread, _ := post(t, a, 0, "first", "10.77.0.1")
	threadPath := fmt.Sprintf("/b/thread/%d.json", thread)
	for _, p := range []*proc{a, b} {
		for _, path := range []string{threadPath, "/b/catalog.json"} {
			var v any
			fetch(t, p, path, &v)
			if got := fetch(t, p, path, &v); got != "HIT" {
				t.Fatalf("warming %s on %s: second GET %s, want HIT", path, p.name, got)
			}
		}
	}

	// shows tells whether p's thread JSON and catalog show reply i (No. no).
	shows := func(p *proc, i int, no int64) (bool, string) {
		var th threadJSON
		state := fetch(t, p, threadPath, &th)
		var last int64
		if n := len(th.Posts); n > 0 {
			last = th.Posts[n-1].No
		}
		if len(th.Posts) != i+1 || last != no {
			return false, fmt.Sprintf("thread JSON (%s) has %d posts, the last No. %d", state, len(th.Posts), last)
		}
		var cat catalogJSON
		state = fetch(t, p, "/b/catalog.json", &cat)
		if last, n := cat.newest(thread); last != no || n != i {
			return false, fmt.Sprintf("catalog (%s) shows the last reply No. %d of %d", state, last, n)
		}
		return true, ""
	}
	const replies = 20
	var late int
	var worst time.Duration
	t1 := time.Now()
	for i := 1; i <= replies; i++ {
		_, no := post(t, a, thread, fmt.Sprint("reply ", i), fmt.Sprintf("10.77.1.%d", i))
		answered := time.Now()
		if ok, why := shows(a, i, no); !ok { // the writer's own router: at once
			t.Errorf("reply %d (No. %d): router A's %s", i, no, why)
		}
		if ok, _ := shows(b, i, no); !ok {
			late++
			testutil.Eventually(t, 2*time.Second, func() error {
				if ok, why := shows(b, i, no); !ok {
					return fmt.Errorf("reply %d (No. %d): router B still serves the old page: %s", i, no, why)
				}
				return nil
			})
		}
		worst = max(worst, time.Since(answered))
	}
	t.Logf("%d replies read back from both routers in %v; router B was behind on the first read %d times, caught up within %v at worst",
		replies, time.Since(t1).Round(time.Millisecond), late, worst.Round(time.Microsecond))
}
