// Command posting measures how fast the api takes replies to one thread, end
// to end over HTTP, on SQLite and on PostgreSQL, and then checks that every
// reply answered 201 is stored once, under a number of its own.
//
// Every reply of a board takes the board's post counter under a row lock, so
// this is the write path at its most serial: one hot thread on one board.
//
//	go run ./bench/posting [-posters 32] [-duration 10s] [-warmup 2s] [-db sqlite,postgres]
//
// PostgreSQL is reached as in the tests: a fresh database is created on
// MANIWANI_TEST_POSTGRES_URL (or the local server as postgres) and dropped at
// the end, also on Ctrl-C.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/maniwani/maniwani/internal/serve"

	_ "github.com/jackc/pgx/v5/stdlib" // the database/sql driver for the admin connection

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/api/store"
	"github.com/maniwani/maniwani/markdown"
)

// options are the flags, read once in main and passed down.
type options struct {
	posters    int
	duration   time.Duration
	warmup     time.Duration
	dbs        []string
	cpuprofile string
}

// result is what one database's run measured.
type result struct {
	kind      string
	measured  []time.Duration // latency of each 201 completed inside the window
	window    time.Duration
	errors    int     // non-201 answers and failed requests over the whole run
	answered  []int64 // post numbers of every 201, warm-up and tail included
	thread    int64
	cancelled bool // Ctrl-C cut the run short: in-flight posts may or may not be stored
}

func (r *result) throughput() float64 { return float64(len(r.measured)) / r.window.Seconds() }

func main() {
	os.Exit(run())
}

// run is main with an exit code, so that deferred clean-up (dropping the
// PostgreSQL database) happens before the process exits.
func run() int {
	var o options
	var dbs string
	flag.IntVar(&o.posters, "posters", 32, "concurrent posters")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per database")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured time before it per database")
	flag.StringVar(&dbs, "db", "sqlite,postgres", "databases to run, comma-separated: sqlite, postgres")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of each measured window to `file`.<db>")
	flag.Parse()
	if o.posters < 1 || o.duration <= 0 || o.warmup < 0 {
		fmt.Fprintln(os.Stderr, "posting: -posters must be at least 1 and -duration positive")
		return 2
	}
	for _, k := range strings.Split(dbs, ",") {
		switch k = strings.TrimSpace(k); k {
		case "sqlite", "postgres":
			o.dbs = append(o.dbs, k)
		case "":
		default:
			fmt.Fprintf(os.Stderr, "posting: unknown database %q in -db\n", k)
			return 2
		}
	}

	// A closed output pipe (| head) or terminal ends the run like Ctrl-C,
	// rather than killing the process before it drops its database.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM,
		syscall.SIGHUP, syscall.SIGPIPE)
	defer stop()
	// The api logs its failed requests, which shows real faults; once the
	// run is interrupted those are only the cancelled posts.
	var level slog.LevelVar
	level.Set(slog.LevelWarn)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: &level}))
	go func() {
		<-ctx.Done()
		level.Set(slog.LevelError + 1)
		// A second Ctrl-C kills the process at once, for when the clean-up
		// itself hangs.
		stop()
	}()

	results := map[string]*result{}
	code := 0
	for _, kind := range o.dbs {
		res, err := runKind(ctx, kind, o, log)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", kind, err)
			code = 1
			if ctx.Err() != nil {
				return 130
			}
			continue
		}
		results[kind] = res
	}
	if pg, sq := results["postgres"], results["sqlite"]; pg != nil && sq != nil && sq.throughput() > 0 {
		fmt.Printf("postgres/sqlite throughput: %.2fx\n", pg.throughput()/sq.throughput())
	}
	return code
}

// runKind makes a fresh database of the kind, runs the load on it, reports
// and checks it; the database is gone when it returns.
func runKind(ctx context.Context, kind string, o options, log *slog.Logger) (*result, error) {
	var dbURL string
	switch kind {
	case "sqlite":
		dir, err := os.MkdirTemp("", "maniwani-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		dbURL = "sqlite://" + filepath.Join(dir, "maniwani.db")
	case "postgres":
		u, drop, err := createPostgres(ctx)
		if err != nil {
			return nil, err
		}
		defer func() {
			if err := drop(); err != nil {
				fmt.Fprintf(os.Stderr, "postgres: %v\n", err)
			}
		}()
		dbURL = u
	}

	st, err := store.Open(ctx, store.Config{URL: dbURL})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	// No cooldowns and no limit the run could reach: the run measures the
	// write path, not the refusals.
	err = st.CreateBoard(ctx, maniwani.Board{Name: "bench", Title: "Bench", MaxThreads: 1000,
		BumpLimit: 1 << 30, ImageLimit: 1 << 30, MaxFileSize: maniwani.DefaultMaxFileSize})
	if err != nil {
		return nil, err
	}
	svc, err := api.New(api.Config{Logger: log}, api.Deps{Store: st, Renderer: markdown.NewRenderer(markdown.RendererConfig{Logger: log})})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: svc.Handler(), ReadHeaderTimeout: 10 * time.Second}
	srvCtx, stopServer := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve.HTTP(srvCtx, srv, ln) }()
	defer func() {
		stopServer()
		<-served
	}()

	// One connection per poster stays open between requests; with the
	// default of two idle connections per host most requests would dial.
	tr := &http.Transport{Proxy: nil, MaxIdleConns: 2 * o.posters, MaxIdleConnsPerHost: 2 * o.posters,
		IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	c := &client{http: &http.Client{Transport: tr, Timeout: 30 * time.Second},
		url: "http://" + ln.Addr().String() + "/bench/post"}

	op, err := c.post(ctx, 0, "bench thread")
	if err != nil {
		return nil, fmt.Errorf("start the thread: %w", err)
	}
	res := load(ctx, c, op, o, kind)
	res.kind, res.thread = kind, op
	if res.cancelled {
		return nil, errors.New("interrupted: no figures, no check")
	}
	report(res)
	if err := check(ctx, st, res); err != nil {
		return nil, err
	}
	return res, nil
}

// createPostgres makes a database of its own on the admin server, the way
// internal/testdb does for tests, and returns its URL and how to drop it.
func createPostgres(ctx context.Context) (string, func() error, error) {
	admin := os.Getenv("MANIWANI_TEST_POSTGRES_URL")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, fmt.Errorf("parse %s: %w", store.Redact(admin), err)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return "", nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	b := make([]byte, 6)
	rand.Read(b)
	name := "maniwani_bench_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(cctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create database on %s: %w", store.Redact(admin), err)
	}
	drop := func() error {
		defer db.Close()
		// Not the run's context: after Ctrl-C the database must still go.
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(dctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// client posts to the board as a browser's quick reply would, but asks for
// JSON so that the answer carries the post's number.
type client struct {
	http *http.Client
	url  string

	mu       sync.Mutex
	failures int // error bodies shown so far
}

// maxShown bounds the error bodies printed, so a run that fails every
// request does not drown its own summary.
const maxShown = 5

// post sends one post (a reply when resto is not 0) and returns its number.
func (c *client) post(ctx context.Context, resto int64, com string) (int64, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if resto != 0 {
		mw.WriteField("resto", strconv.FormatInt(resto, 10))
	}
	mw.WriteField("com", com)
	mw.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, &body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	// Read to the end, so the connection goes back to the pool.
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusCreated {
		return 0, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b))
	}
	var out struct {
		No int64 `json:"no"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.No == 0 {
		return 0, fmt.Errorf("201 without a post number: %q", b)
	}
	return out.No, nil
}

// fail counts a failed request and shows the first few.
func (c *client) fail(kind string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures++
	if c.failures <= maxShown {
		fmt.Fprintf(os.Stderr, "%s: error: %v\n", kind, err)
	}
}

// poster is what one poster saw; each keeps its own so the hot loop shares
// nothing but the client's connection pool.
type poster struct {
	measured []time.Duration
	answered []int64
	errors   int
}

// load runs the posters through the warm-up and the measured window, then
// lets the requests in flight finish, so that every post the server stores
// is one whose answer was seen.
func load(ctx context.Context, c *client, thread int64, o options, kind string) *result {
	start := time.Now()
	from := start.Add(o.warmup)
	until := from.Add(o.duration)

	var prof *os.File
	profDone := make(chan struct{})
	if o.cpuprofile != "" {
		go func() {
			defer close(profDone)
			select {
			case <-time.After(time.Until(from)):
			case <-ctx.Done():
				return
			}
			f, err := os.Create(o.cpuprofile + "." + kind)
			if err == nil {
				err = pprof.StartCPUProfile(f)
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: cpu profile: %v\n", kind, err)
				return
			}
			prof = f
		}()
	} else {
		close(profDone)
	}

	posters := make([]poster, o.posters)
	var wg sync.WaitGroup
	for i := range posters {
		wg.Add(1)
		go func(p *poster, id int) {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				t0 := time.Now()
				if !t0.Before(until) {
					return
				}
				no, err := c.post(ctx, thread, fmt.Sprintf("reply %d from poster %d", n, id))
				t1 := time.Now()
				if err != nil {
					if ctx.Err() == nil {
						p.errors++
						c.fail(kind, err)
					}
					continue
				}
				p.answered = append(p.answered, no)
				// A request counts where it ends: the window holds what was
				// answered inside it, at the pace of a warmed-up server.
				if !t1.Before(from) && t1.Before(until) {
					p.measured = append(p.measured, t1.Sub(t0))
				}
			}
		}(&posters[i], i)
	}
	wg.Wait()
	<-profDone
	if prof != nil {
		pprof.StopCPUProfile()
		prof.Close()
	}

	res := &result{window: o.duration, cancelled: ctx.Err() != nil}
	for _, p := range posters {
		res.measured = append(res.measured, p.measured...)
		res.answered = append(res.answered, p.answered...)
		res.errors += p.errors
	}
	return res
}

// report prints the run's one-line summary.
func report(r *result) {
	lat := slices.Clone(r.measured)
	slices.Sort(lat)
	fmt.Printf("%s: %d posts in %.1fs = %.0f posts/s  p50 %s  p99 %s  errors %d\n", r.kind, len(lat),
		r.window.Seconds(), r.throughput(), ms(percentile(lat, 0.50)), ms(percentile(lat, 0.99)), r.errors)
}

// percentile is the nearest-rank percentile of sorted latencies.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted)) + 0.5)
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}

// check reads the thread back through the store: it must hold exactly the
// replies answered 201, numbered one after another from the opening post.
// A lost, doubled or unanswered-but-stored reply each breaks that.
func check(ctx context.Context, st *store.Store, r *result) error {
	v, err := st.Thread(ctx, "bench", r.thread)
	if err != nil {
		return fmt.Errorf("check: read thread No.%d: %w", r.thread, err)
	}
	replies := v.Posts[1:]
	answered := slices.Clone(r.answered)
	slices.Sort(answered)
	var problems []string
	if len(replies) != len(answered) {
		problems = append(problems, fmt.Sprintf("%d replies stored, %d answered 201", len(replies), len(answered)))
	}
	if v.Replies != len(answered) {
		problems = append(problems, fmt.Sprintf("the thread's reply count is %d, %d answered 201", v.Replies, len(answered)))
	}
	// The board has no other thread, so its replies are the numbers right
	// after the opening post's, each once.
	for i, p := range replies {
		if want := r.thread + 1 + int64(i); p.No != want {
			problems = append(problems, fmt.Sprintf("reply %d is No.%d, not No.%d (a gap or a repeat)", i, p.No, want))
			break
		}
	}
	for i := range min(len(replies), len(answered)) {
		if replies[i].No != answered[i] {
			problems = append(problems, fmt.Sprintf("No.%d was stored but the %dth 201 answered No.%d",
				replies[i].No, i+1, answered[i]))
			break
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("check FAILED: %s", strings.Join(problems, "; "))
	}
	last := r.thread
	if len(replies) > 0 {
		last = replies[len(replies)-1].No
	}
	fmt.Printf("%s: check ok: thread No.%d holds %d replies, No.%d-No.%d, no gaps or repeats, each answered 201 once\n",
		r.kind, r.thread, len(replies), r.thread+1, last)
	return nil
}
