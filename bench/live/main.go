// Command live measures the live service under many open streams: it opens
// -clients Server-Sent Events streams of one thread, then posts -posts
// replies to the thread one by one, and prints how long after each post was
// acknowledged (201) the last client had it, and what the connected clients
// cost the server process in resident memory.
//
//	go run ./bench/live -url http://127.0.0.1:PORT -thread N -clients 10000 -posts 100 -pid PID
//
// bench/live/run.sh builds and starts Maniwani and runs this; see there.
//
// Each client is a raw TCP connection with a small hand-written HTTP/1.1
// request, one goroutine and small buffers, so that the load program itself
// stays small beside the server on the same machine. Each stream and each
// post carries an X-Forwarded-For address of its own (the server trusts
// 127.0.0.1 as a proxy): the live service admits only a few streams per
// client address, and the api has a reply cooldown per address.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

type options struct {
	url      string
	board    string
	thread   int64
	clients  int
	posts    int
	pid      int
	batch    int
	gap      time.Duration
	rate     float64
	inflight int
	timeout  time.Duration
	drain    time.Duration
	p99ms    float64
	kbClient float64
}

// receipt is one post event a client read.
type receipt struct {
	no int64
	at time.Time
}

// conn is one client's stream.
type conn struct {
	c      net.Conn
	opened chan error // one value: nil once ": open" came, or why not
	mu     sync.Mutex
	got    []receipt
	err    error // why the stream ended early, if it did
}

func main() {
	os.Exit(run())
}

func run() int {
	var o options
	flag.StringVar(&o.url, "url", "", "Maniwani's public address, http://127.0.0.1:PORT")
	flag.StringVar(&o.board, "board", "b", "the board")
	flag.Int64Var(&o.thread, "thread", 0, "the thread whose stream the clients open and to which the posts reply")
	flag.IntVar(&o.clients, "clients", 10000, "concurrent SSE clients")
	flag.IntVar(&o.posts, "posts", 100, "replies posted once every client is connected")
	flag.IntVar(&o.pid, "pid", 0, "the live instance's process id, for its RSS (0: not measured)")
	flag.IntVar(&o.batch, "batch", 250, "connections opened at once while ramping up")
	flag.DurationVar(&o.gap, "gap", 30*time.Millisecond, "pause between posts (with -rate 0)")
	flag.Float64Var(&o.rate, "rate", 0, "posts per second, sent on a schedule whether or not the previous ones were answered (0: one by one, -gap apart)")
	flag.IntVar(&o.inflight, "inflight", 64, "with -rate: posts waiting for their answer at most; more and the schedule slips")
	flag.DurationVar(&o.timeout, "timeout", 150*time.Second, "the whole run's limit")
	flag.DurationVar(&o.drain, "drain", 10*time.Second, "how long after the last post to wait for deliveries")
	flag.Float64Var(&o.p99ms, "target-p99", 200, "target: p99 of the last client's delivery latency, ms")
	flag.Float64Var(&o.kbClient, "target-kb", 20, "target: server RSS per connected client, KB")
	flag.Parse()
	u, err := url.Parse(o.url)
	if err != nil || u.Scheme != "http" || u.Host == "" || o.thread < 1 || o.clients < 1 || o.posts < 1 || o.batch < 1 {
		fmt.Fprintln(os.Stderr, "live: need -url http://host:port, -thread N >= 1, -clients >= 1, -posts >= 1, -batch >= 1")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	ok, err := bench(ctx, o, u.Host)
	if err != nil {
		fmt.Fprintln(os.Stderr, "live:", err)
		fmt.Println("RESULT: FAIL (the run did not complete: " + err.Error() + ")")
		return 1
	}
	if !ok {
		return 1
	}
	return 0
}

func bench(ctx context.Context, o options, host string) (bool, error) {
	pace := fmt.Sprintf("one by one (%v apart)", o.gap)
	if o.rate > 0 {
		pace = fmt.Sprintf("at %g/s on a schedule (at most %d waiting for their answer)", o.rate, o.inflight)
	}
	fmt.Printf("live bench: %d SSE clients on /live/%s/%d, then %d replies %s\n",
		o.clients, o.board, o.thread, o.posts, pace)
	fmt.Printf("server: the all-in-one maniwani (pid %d) is the live instance; the router (fasthttp) hands each client's connection to live in the same process\n", o.pid)
	fmt.Printf("machine: %d CPUs; this load program may use %s (GOMAXPROCS %d), the server %s; all traffic on 127.0.0.1\n",
		onlineCPUs(), cpus(0), runtime.GOMAXPROCS(0), cpus(o.pid))

	rssBefore, err := rss(o.pid)
	if err != nil {
		return false, err
	}

	// Ramp up in batches: each batch's streams must be open before the next.
	conns := make([]*conn, 0, o.clients)
	t0 := time.Now()
	var failed int
	var firstErr error
	defer func() {
		for _, c := range conns {
			c.mu.Lock()
			if c.c != nil {
				c.c.Close()
			}
			c.mu.Unlock()
		}
	}()
	for len(conns) < o.clients {
		n := min(o.batch, o.clients-len(conns))
		batch := make([]*conn, n)
		for i := range batch {
			batch[i] = open(ctx, o, host, len(conns)+i)
		}
		for _, c := range batch {
			select {
			case err := <-c.opened:
				if err != nil {
					failed++
					if firstErr == nil {
						firstErr = err
					}
				}
			case <-ctx.Done():
				return false, fmt.Errorf("ramp-up: %d of %d streams open when time ran out", len(conns), o.clients)
			}
		}
		conns = append(conns, batch...)
	}
	ramp := time.Since(t0)
	fmt.Printf("connected: %d of %d streams open (got \": open\") in %v", o.clients-failed, o.clients, ramp.Round(time.Millisecond))
	if failed > 0 {
		e := firstErr.Error()
		if len(e) > 120 {
			e = e[:120] + "..."
		}
		fmt.Printf("; %d FAILED, first: %s", failed, e)
	}
	fmt.Println()
	// Let the server settle (goroutines parked, buffers in place) before measuring.
	sleep(ctx, time.Second)
	rssAfter, err := rss(o.pid)
	if err != nil {
		return false, err
	}

	// The posts; each answered number, when its 201 came and how long
	// it took.
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: max(2, o.inflight)}}
	srvCPU0, selfCPU0, machine0 := cpuTime(o.pid), cpuTime(0), machineBusy()
	tPosts := time.Now()
	ps := sendPosts(ctx, hc, o, host)
	acked, ackAt, postErrs := ps.acked, ps.ackAt, ps.errs

	// Wait until every open stream has every answered post, or the drain ends.
	deadline := time.Now().Add(o.drain)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if missing(conns, ackAt) == 0 {
			break
		}
		sleep(ctx, 20*time.Millisecond)
	}
	rssEnd, _ := rss(o.pid)
	srvCPU, selfCPU, busy := cpuTime(o.pid).sub(srvCPU0), cpuTime(0).sub(selfCPU0), time.Since(tPosts)
	others := machineBusy() - machine0 - srvCPU.user - srvCPU.sys - selfCPU.user - selfCPU.sys

	// Per post: the last client's latency; over all: every receipt's.
	var perPost, all []time.Duration
	early := 0
	last := map[int64]time.Duration{}
	have := map[int64]int{}
	ended := 0
	for _, c := range conns {
		c.mu.Lock()
		if c.err != nil {
			ended++
		}
		for _, r := range c.got {
			at, ok := ackAt[r.no]
			if !ok {
				continue
			}
			d := r.at.Sub(at)
			if d < 0 {
				early++ // the event beat the 201 to this program
				d = 0
			}
			all = append(all, d)
			have[r.no]++
			if d > last[r.no] {
				last[r.no] = d
			}
		}
		c.mu.Unlock()
	}
	open := o.clients - failed
	missed := 0
	for _, no := range acked {
		missed += open - have[no] // a stream that ended early misses what came after
		if have[no] > 0 {
			perPost = append(perPost, last[no])
		}
	}
	missed += failed * len(acked) // a client that never connected received nothing
	slices.Sort(perPost)
	slices.Sort(all)

	slices.Sort(ps.took)
	fmt.Printf("posts: %d answered 201, %d failed; sent over %.2f s (%.1f/s); answered in p50 %s  p99 %s\n",
		len(acked), postErrs, ps.span.Seconds(), float64(o.posts)/max(ps.span.Seconds(), 1e-9), ms(pct(ps.took, 50)), ms(pct(ps.took, 99)))
	fmt.Printf("delivery latency, 201 -> the LAST client has the post (per post, n=%d): p50 %s  p99 %s  max %s\n",
		len(perPost), ms(pct(perPost, 50)), ms(pct(perPost, 99)), ms(pct(perPost, 100)))
	fmt.Printf("delivery latency, 201 -> a client has the post (every receipt, n=%d): p50 %s  p99 %s  max %s\n",
		len(all), ms(pct(all, 50)), ms(pct(all, 99)), ms(pct(all, 100)))
	fmt.Printf("CPU from the first post to the last delivery (%.1f s): server user %.2f s + sys %.2f s, this load program user %.2f s + sys %.2f s\n",
		busy.Seconds(), srvCPU.user.Seconds(), srvCPU.sys.Seconds(), selfCPU.user.Seconds(), selfCPU.sys.Seconds())
	fmt.Printf("CPU of everything else on the machine meanwhile (other processes, interrupts): %.2f s of %.1f s (%d CPUs); more than a little makes this run noisy\n",
		max(others, 0).Seconds(), busy.Seconds()*float64(onlineCPUs()), onlineCPUs())
	if early > 0 {
		fmt.Printf("  (%d receipts came before the 201 reached the poster; counted as 0 ms)\n", early)
	}
	fmt.Printf("missed deliveries: %d of %d (streams that failed to open: %d, ended early: %d)\n",
		missed, o.clients*len(acked), failed, ended)
	perClient := float64(rssAfter-rssBefore) / float64(max(open, 1))
	if o.pid > 0 {
		fmt.Printf("server RSS (VmRSS of pid %d, the all-in-one maniwani = the live instance): before clients %.1f MB, all %d connected %.1f MB, after the posts %.1f MB\n",
			o.pid, mb(rssBefore), open, mb(rssAfter), mb(rssEnd))
		fmt.Printf("server RSS per connected client: %.1f KB ((connected - before) / %d)\n", perClient/1024, open)
	}

	p99 := pct(perPost, 99)
	var why []string
	if failed > 0 || postErrs > 0 || len(acked) < o.posts {
		why = append(why, fmt.Sprintf("%d streams failed to open, %d posts failed", failed, postErrs))
	}
	if missed > 0 {
		why = append(why, fmt.Sprintf("%d missed deliveries", missed))
	}
	if float64(p99)/float64(time.Millisecond) > o.p99ms {
		why = append(why, fmt.Sprintf("p99 %s > %.0f ms", ms(p99), o.p99ms))
	}
	if o.pid > 0 && perClient/1024 > o.kbClient {
		why = append(why, fmt.Sprintf("RSS %.1f KB per client > %.0f KB", perClient/1024, o.kbClient))
	}
	target := fmt.Sprintf("targets: p99 (last client) <= %.0f ms, <= %.0f KB RSS per client, 0 missed, all %d connected",
		o.p99ms, o.kbClient, o.clients)
	result := "PASS"
	if len(why) > 0 {
		result = "FAIL"
	}
	// One line for run.sh's table.
	fmt.Printf("summary: p50_ms=%.1f p99_ms=%.1f max_ms=%.1f kb_per_client=%.1f server_cpu_s=%.2f server_sys_s=%.2f load_cpu_s=%.2f others_cpu_s=%.2f missed=%d result=%s\n",
		msf(pct(perPost, 50)), msf(p99), msf(pct(perPost, 100)), perClient/1024, (srvCPU.user + srvCPU.sys).Seconds(), srvCPU.sys.Seconds(),
		(selfCPU.user + selfCPU.sys).Seconds(), max(others, 0).Seconds(), missed, result)
	if len(why) > 0 {
		fmt.Printf("RESULT: FAIL (%s; %s)\n", strings.Join(why, "; "), target)
		return false, nil
	}
	fmt.Printf("RESULT: PASS (%s)\n", target)
	return true, nil
}

// open starts client i's stream in the background.
func open(ctx context.Context, o options, host string, i int) *conn {
	c := &conn{opened: make(chan error, 1), got: make([]receipt, 0, o.posts)}
	go c.run(ctx, o, host, i)
	return c
}

func (c *conn) run(ctx context.Context, o options, host string, i int) {
	opened := false
	fail := func(err error) {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		if !opened {
			c.opened <- err
		}
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		fail(err)
		return
	}
	c.mu.Lock()
	c.c = nc
	c.mu.Unlock()
	// 10.x.y.z, one address per client: the live service admits only a
	// few streams per address.
	xff := fmt.Sprintf("10.%d.%d.%d", 1+i/65536, (i/256)%256, i%256)
	req := "GET /live/" + o.board + "/" + strconv.FormatInt(o.thread, 10) + " HTTP/1.1\r\nHost: " + host +
		"\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\nX-Forwarded-For: " + xff + "\r\n\r\n"
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(nc, req); err != nil {
		fail(err)
		return
	}
	br := bufio.NewReaderSize(nc, 4096)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		fail(fmt.Errorf("reading the answer: %w", err))
		return
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		fail(fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(b)))
		return
	}
	body := resp.Body // chunked, decoded by net/http; its reads go through br
	lr := bufio.NewReaderSize(body, 2048)
	event := ""
	var line []byte
	for {
		line, err = readLine(lr, line[:0])
		if err != nil {
			if ctx.Err() == nil {
				fail(err)
			} else if !opened {
				fail(ctx.Err())
			}
			return
		}
		switch {
		case len(line) == 0:
			event = ""
		case bytes.HasPrefix(line, []byte(": open")):
			if !opened {
				opened = true
				nc.SetDeadline(time.Time{})
				c.opened <- nil
			}
		case bytes.HasPrefix(line, []byte("event:")):
			event = string(bytes.TrimSpace(line[len("event:"):]))
		case bytes.HasPrefix(line, []byte("data:")) && event == "post":
			at := time.Now()
			if no, ok := postNo(line); ok {
				c.mu.Lock()
				c.got = append(c.got, receipt{no, at})
				c.mu.Unlock()
			}
		}
	}
}

// readLine reads one line without its end into buf.
func readLine(r *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		b, err := r.ReadSlice('\n')
		buf = append(buf, b...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return buf, err
		}
		return bytes.TrimRight(buf, "\r\n"), nil
	}
}

// postNo is the "no" of a post event's data line: the first "no" key of
// {"board":...,"no":N,...}.
func postNo(line []byte) (int64, bool) {
	i := bytes.Index(line, []byte(`"no":`))
	if i < 0 {
		return 0, false
	}
	s := line[i+5:]
	j := 0
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	n, err := strconv.ParseInt(string(s[:j]), 10, 64)
	return n, err == nil
}

// post replies to the thread; it returns the post's number and when the
// 201 came.
func post(ctx context.Context, hc *http.Client, o options, host string, i int) (int64, time.Time, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("resto", strconv.FormatInt(o.thread, 10))
	mw.WriteField("com", fmt.Sprintf("Live bench reply %d, sent at %s.", i+1, time.Now().Format(time.RFC3339Nano)))
	mw.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+host+"/"+o.board+"/post", &body)
	if err != nil {
		return 0, time.Time{}, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.250.%d.%d", i/250, 1+i%250)) // a cooldown per address
	resp, err := hc.Do(req)
	if err != nil {
		return 0, time.Time{}, err
	}
	at := time.Now()
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusCreated {
		return 0, at, fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	var r struct {
		No int64 `json:"no"`
	}
	if err := json.Unmarshal(b, &r); err != nil || r.No == 0 {
		return 0, at, fmt.Errorf("no post number in %q", b)
	}
	return r.No, at, nil
}

// posts is what sendPosts did.
type posts struct {
	acked []int64             // the numbers answered, in the order sent
	ackAt map[int64]time.Time // when each one's 201 came
	took  []time.Duration     // each answered post's time to its 201
	errs  int
	span  time.Duration // from the first post sent to the last
}

// sendPosts posts o.posts replies: one by one, o.gap apart, or with
// o.rate on a schedule, each in a goroutine of its own (at most o.inflight
// at once), so that a slow answer does not slow the rate.
func sendPosts(ctx context.Context, hc *http.Client, o options, host string) posts {
	ps := posts{ackAt: map[int64]time.Time{}}
	nos := make([]int64, o.posts)
	var mu sync.Mutex
	one := func(i int) {
		t0 := time.Now()
		no, at, err := post(ctx, hc, o, host, i)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			ps.errs++
			fmt.Fprintf(os.Stderr, "post %d: %v\n", i+1, err)
			return
		}
		nos[i] = no
		ps.ackAt[no] = at
		ps.took = append(ps.took, at.Sub(t0))
	}
	start := time.Now()
	if o.rate <= 0 {
		for i := 0; i < o.posts && ctx.Err() == nil; i++ {
			ps.span = time.Since(start)
			one(i)
			sleep(ctx, o.gap)
		}
	} else {
		every := time.Duration(float64(time.Second) / o.rate)
		slots := make(chan struct{}, max(1, o.inflight))
		var wg sync.WaitGroup
		for i := 0; i < o.posts && ctx.Err() == nil; i++ {
			sleep(ctx, time.Until(start.Add(time.Duration(i)*every)))
			slots <- struct{}{}
			ps.span = time.Since(start)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				one(i)
			}()
		}
		wg.Wait()
	}
	for _, no := range nos {
		if no != 0 {
			ps.acked = append(ps.acked, no)
		}
	}
	return ps
}

// missing counts the (open stream, answered post) pairs not received yet.
func missing(conns []*conn, ackAt map[int64]time.Time) int {
	n := 0
	for _, c := range conns {
		c.mu.Lock()
		if c.err == nil {
			seen := 0
			for _, r := range c.got {
				if _, ok := ackAt[r.no]; ok {
					seen++
				}
			}
			n += len(ackAt) - seen
		}
		c.mu.Unlock()
	}
	return n
}

// rss is the process's VmRSS in bytes; 0 without a pid.
func rss(pid int) (int64, error) {
	if pid <= 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024, err
			}
		}
	}
	return 0, errors.New("no VmRSS in /proc/" + strconv.Itoa(pid) + "/status")
}

// cpu is a process's CPU time.
type cpu struct{ user, sys time.Duration }

func (a cpu) sub(b cpu) cpu { return cpu{a.user - b.user, a.sys - b.sys} }

// cpuTime is the CPU time of process pid (0: this one) so far, from
// /proc/PID/stat (in clock ticks of 10 ms); zero when it cannot be read.
func cpuTime(pid int) cpu {
	p := "self"
	if pid > 0 {
		p = strconv.Itoa(pid)
	}
	b, err := os.ReadFile("/proc/" + p + "/stat")
	if err != nil {
		return cpu{}
	}
	// The fields after the command, which is in parentheses: utime and
	// stime are the 12th and 13th.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return cpu{}
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return cpu{}
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return cpu{time.Duration(u) * 10 * time.Millisecond, time.Duration(s) * 10 * time.Millisecond}
}

// machineBusy is the CPU time all CPUs spent not idle so far, from /proc/stat.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 5 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 && i < 8 { // not idle, not iowait; not guest (counted in user)
			busy += n
		}
	}
	return time.Duration(busy) * 10 * time.Millisecond
}

// cpus is the CPUs process pid (0: this one) may run on, from
// /proc/PID/status; "?" when it cannot be read.
func cpus(pid int) string {
	p := "self"
	if pid > 0 {
		p = strconv.Itoa(pid)
	}
	b, err := os.ReadFile("/proc/" + p + "/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
			return "CPUs " + strings.TrimSpace(rest)
		}
	}
	return "?"
}

// onlineCPUs counts the machine's CPUs (runtime.NumCPU counts those this
// process may use).
func onlineCPUs() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.NumCPU()
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "processor") {
			n++
		}
	}
	return max(n, 1)
}

func pct(s []time.Duration, p float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	i := int(float64(len(s))*p/100+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", msf(d)) }

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mb(b int64) float64 { return float64(b) / (1 << 20) }

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
