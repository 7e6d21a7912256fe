// Command abuse measures what an attacker costs the people using the site:
// well-behaved readers and posters run against a Maniwani for a while, once
// alone and once while an attacker sends what a public imageboard meets in
// its first week (over-limit uploads, endless streams, huge images to
// decode, parallel wrong logins, posts from one IPv6 /64, cache-busting
// query strings, cross-site forms). It prints the well-behaved clients'
// p50/p99 and errors and the server's peak RSS; bench/abuse/run.sh starts
// the servers and compares the two runs.
//
// The attacker is a process of its own (-attacker), which run.sh starts at
// the lowest CPU priority: on one machine its own work (sending hundreds of
// MB, building a 36-megapixel JPEG) would otherwise take the CPU from the
// well-behaved clients and be counted against the server, where a real
// attacker spends its own machine's.
//
//	go run ./bench/abuse -url http://127.0.0.1:8080 -pid PID [-attack] [-duration 30s] -out FILE
//	go run ./bench/abuse -attacker -url URL -ready FILE -out FILE [-only 1,2]
//	go run ./bench/abuse -compare QUIET_FILE ATTACK_FILE [ATTACKER_FILE]
//
// The server must trust 127.0.0.1 as a proxy (MANIWANI_TRUSTED_PROXIES), so
// that each poster can speak for an address of its own. Every request goes
// to -url, which must be on 127.0.0.1.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// result is one run's figures, written to -out.
type result struct {
	Attack    bool     `json:"attack"`
	Reads     int      `json:"reads"`
	Posts     int      `json:"posts"`
	P50       float64  `json:"p50_ms"`
	P99       float64  `json:"p99_ms"`
	PostP99   float64  `json:"post_p99_ms"`
	Errors    int      `json:"errors"`
	ErrorList []string `json:"error_list,omitempty"`
	PeakRSSMB float64  `json:"peak_rss_mb"`
}

func main() {
	base := flag.String("url", "", "the site")
	pid := flag.Int("pid", 0, "the server's process, for its RSS")
	attack := flag.Bool("attack", false, "the well-behaved run beside an attacker (a label of the figures)")
	attacker := flag.Bool("attacker", false, "be the attacker until stopped (SIGTERM), then write what it got to -out")
	ready := flag.String("ready", "", "with -attacker: a file made once the attack begins")
	only := flag.String("only", "", "with -attacker: only these of its loops (comma-separated numbers from 1)")
	duration := flag.Duration("duration", 30*time.Second, "how long the well-behaved clients run")
	readers := flag.Int("readers", 8, "well-behaved readers")
	rate := flag.Float64("rate", 400, "reads a second, of all the readers together")
	posters := flag.Int("posters", 2, "well-behaved posters")
	out := flag.String("out", "", "where the figures go (JSON)")
	compare := flag.Bool("compare", false, "compare two -out files: QUIET ATTACK")
	flag.Parse()
	if *compare {
		os.Exit(compareRuns(flag.Arg(0), flag.Arg(1), flag.Arg(2)))
	}
	u, err := url.Parse(*base)
	if err != nil || u.Hostname() != "127.0.0.1" || (*pid == 0 && !*attacker) || *out == "" {
		fmt.Fprintln(os.Stderr, "abuse: -url http://127.0.0.1:PORT, -pid and -out are needed")
		os.Exit(2)
	}
	if *attacker {
		os.Exit(runAttacker(*base, *only, *ready, *out))
	}
	r := run(*base, *pid, *attack, *duration, *readers, *posters, *rate)
	b, _ := json.MarshalIndent(r, "", "  ")
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("%-7s reads %6d  posts %4d  p50 %6.1f ms  p99 %7.1f ms  post p99 %7.1f ms  errors %d  peak RSS %.0f MB\n",
		map[bool]string{false: "quiet", true: "attack"}[r.Attack], r.Reads, r.Posts, r.P50, r.P99, r.PostP99, r.Errors, r.PeakRSSMB)
}

// runAttacker runs the attacker's loops until SIGTERM, then writes their
// answers, counted by kind and status, to out.
func runAttacker(base, only, ready, out string) int {
	s := newSite(base, 11)
	var err error
	if s.thread, err = s.post(s.freshIP(), 0, "the attacker's thread", nil, ""); err != nil {
		fmt.Fprintln(os.Stderr, "abuse: the attacker's thread:", err)
		return 2
	}
	var wg sync.WaitGroup
	for i, a := range attacks(s) {
		if only != "" && !slices.Contains(strings.Split(only, ","), strconv.Itoa(i+1)) {
			continue
		}
		wg.Go(func() {
			for !s.stop.Load() {
				a()
			}
		})
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	if ready != "" {
		os.WriteFile(ready, nil, 0o644)
	}
	<-stop
	s.stop.Store(true)
	wg.Wait()
	b, _ := json.MarshalIndent(s.attacker, "", "  ")
	if err := os.WriteFile(out, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

func newSite(base string, net int) *site {
	return &site{base: base, net: net, attacker: map[string]int{},
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// site is the server under test and what the clients share.
type site struct {
	base   string
	client *http.Client
	thread int64
	net    int          // the first byte of its addresses: the users' and the attacker's never meet
	ips    atomic.Int64 // fresh poster addresses
	stop   atomic.Bool

	mu       sync.Mutex
	reads    []time.Duration
	posts    []time.Duration
	errs     []string
	nerr     int
	attacker map[string]int
}

func (s *site) freshIP() string {
	n := s.ips.Add(1)
	return fmt.Sprintf("%d.%d.%d.%d", s.net, n>>16&255, n>>8&255, n&255)
}

func (s *site) count(what string) {
	s.mu.Lock()
	s.attacker[what]++
	s.mu.Unlock()
}

func (s *site) fail(what string) {
	s.mu.Lock()
	s.nerr++
	if len(s.errs) < 20 { // the first ones say enough
		s.errs = append(s.errs, what)
	}
	s.mu.Unlock()
}

func run(base string, pid int, attack bool, d time.Duration, readers, posters int, rate float64) result {
	s := newSite(base, 10)
	var err error
	if s.thread, err = s.post(s.freshIP(), 0, "the thread everyone reads", nil, ""); err != nil {
		fmt.Fprintln(os.Stderr, "abuse: the first thread:", err)
		os.Exit(2)
	}
	for i := 0; i < 50; i++ { // a thread of some size to read
		s.post(s.freshIP(), s.thread, fmt.Sprintf("reply %d: some words to make the page a page", i), nil, "")
	}
	peak := make(chan float64)
	done := make(chan struct{})
	go func() { peak <- watchRSS(pid, done) }()

	var good sync.WaitGroup
	paths := []string{fmt.Sprintf("/b/thread/%d", s.thread), "/b/", fmt.Sprintf("/b/thread/%d.json", s.thread), "/b/catalog"}
	// Readers at a steady rate, as people read, not as fast as the server
	// answers: a site that readers alone keep saturated has no room for
	// anything, and the ratio would measure that. Each read's time counts
	// from when it was due, so one held up by the one before is counted.
	every := time.Duration(float64(readers) / rate * float64(time.Second))
	for i := range readers {
		good.Go(func() {
			next := time.Now().Add(every * time.Duration(i) / time.Duration(readers))
			for n := i; !s.stop.Load(); n++ {
				time.Sleep(time.Until(next))
				t0 := next
				next = next.Add(every)
				resp, err := s.client.Get(base + paths[n%len(paths)])
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				took := time.Since(t0)
				s.mu.Lock()
				s.reads = append(s.reads, took)
				s.mu.Unlock()
				if err != nil || resp.StatusCode != 200 {
					s.fail(fmt.Sprintf("GET %s: %v %v", paths[n%len(paths)], err, status(resp)))
				}
			}
		})
	}
	for range posters {
		good.Go(func() {
			for n := 0; !s.stop.Load(); n++ {
				t0 := time.Now()
				_, err := s.post(s.freshIP(), s.thread, fmt.Sprintf("a well-behaved reply %d", n), nil, "")
				took := time.Since(t0)
				s.mu.Lock()
				s.posts = append(s.posts, took)
				s.mu.Unlock()
				if err != nil {
					s.fail("post: " + err.Error())
				}
				time.Sleep(100 * time.Millisecond) // a person's pace, about ten posts a second in all
			}
		})
	}
	time.Sleep(d)
	s.stop.Store(true)
	good.Wait()
	close(done)
	r := result{Attack: attack, Reads: len(s.reads), Posts: len(s.posts), PeakRSSMB: <-peak}
	all := append(slices.Clone(s.reads), s.posts...)
	r.P50, r.P99 = pct(all, 50), pct(all, 99)
	r.PostP99 = pct(s.posts, 99)
	r.Errors, r.ErrorList = s.nerr, s.errs
	return r
}

func status(r *http.Response) any {
	if r == nil {
		return ""
	}
	return r.StatusCode
}

// post sends a reply (or a thread, resto 0) as ip; it answers the post's
// number, or why it was refused.
func (s *site) post(ip string, resto int64, com string, file []byte, origin string) (int64, error) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("resto", strconv.FormatInt(resto, 10))
	w.WriteField("com", com)
	if file != nil {
		fw, _ := w.CreateFormFile("upfile", "big.jpg")
		fw.Write(file)
	}
	w.Close()
	req, _ := http.NewRequest("POST", s.base+"/b/post", &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	if origin != "" {
		req.Header.Set("Origin", origin)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var a struct {
		No    int64  `json:"no"`
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&a)
	if resp.StatusCode != 201 {
		return 0, fmt.Errorf("%d %s", resp.StatusCode, a.Error)
	}
	return a.No, nil
}

// attacks are the attacker's loops, each run over and over until the end.
func attacks(s *site) []func() {
	host := strings.TrimPrefix(s.base, "http://")
	big := bigJPEG()
	raw := func(what string, head string, body func(net.Conn)) {
		c, err := net.DialTimeout("tcp", host, 5*time.Second)
		if err != nil {
			s.count(what + " dial error")
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		io.WriteString(c, head)
		go body(c)
		buf := make([]byte, 64)
		n, _ := io.ReadAtLeast(c, buf, 12)
		if n >= 12 {
			s.count(what + " " + string(buf[9:12]))
		} else {
			s.count(what + " no answer")
		}
	}
	zeros := make([]byte, 64<<10)
	send := func(n int) func(net.Conn) {
		return func(c net.Conn) {
			for sent := 0; sent < n; sent += len(zeros) {
				if _, err := c.Write(zeros); err != nil {
					return
				}
			}
		}
	}
	// A well-formed post whose file runs on for n bytes: refused for its
	// size, not its form.
	upload := func(n int) (string, func(net.Conn)) {
		pre := fmt.Sprintf("--x\r\nContent-Disposition: form-data; name=\"resto\"\r\n\r\n%d\r\n"+
			"--x\r\nContent-Disposition: form-data; name=\"upfile\"; filename=\"a.png\"\r\n\r\n\x89PNG\r\n\x1a\n", s.thread)
		rest := send(n - len(pre))
		return pre, func(c net.Conn) {
			if _, err := io.WriteString(c, pre); err == nil {
				rest(c)
			}
		}
	}
	cooling := s.freshIP() // an address that posted a moment ago
	s.post(cooling, s.thread, "the attacker's first post", nil, "")
	v6 := 0
	return []func(){
		// 1. A body a little over the board's limit, and a small form far
		// over its own.
		func() {
			_, body := upload(9 << 20)
			raw("9 MiB upload", fmt.Sprintf("POST /b/post HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=x\r\nAccept: application/json\r\nX-Forwarded-For: %s\r\nContent-Length: %d\r\n\r\n", s.freshIP(), 9<<20), body)
		},
		func() {
			raw("400 KB report", fmt.Sprintf("POST /b/report HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", 400<<10), send(400<<10))
		},
		// 2. A stream that never ends, told and not told (chunked).
		func() {
			raw("200 MB upload", fmt.Sprintf("POST /b/post HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: %d\r\n\r\n", 200<<20), send(200<<20))
		},
		func() {
			pre, _ := upload(0)
			raw("endless chunked upload", "POST /b/post HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=x\r\nTransfer-Encoding: chunked\r\n\r\n", func(c net.Conn) {
				if _, err := fmt.Fprintf(c, "%x\r\n%s\r\n", len(pre), pre); err != nil {
					return
				}
				chunk := append(append([]byte(fmt.Sprintf("%x\r\n", len(zeros))), zeros...), "\r\n"...)
				for range 4096 {
					if _, err := c.Write(chunk); err != nil {
						return
					}
				}
			})
		},
		// 3. A huge image to decode and rotate, from an address in its
		// cooldown, and from fresh ones.
		func() {
			_, err := s.post(cooling, s.thread, "again", big, "")
			s.count("big JPEG in cooldown " + code(err))
		},
		func() {
			_, err := s.post(s.freshIP(), s.thread, "big", big, "")
			s.count("big JPEG fresh address " + code(err))
		},
		// 4, 5. Wrong passwords for the admin, 24 at once.
		func() {
			var wg sync.WaitGroup
			for range 24 {
				wg.Go(func() {
					req, _ := http.NewRequest("POST", s.base+"/api/admin/login", strings.NewReader(`{"username":"admin","password":"wrong"}`))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-Forwarded-For", s.freshIP())
					if resp, err := s.client.Do(req); err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						s.count("wrong login " + strconv.Itoa(resp.StatusCode))
					} else {
						s.count("wrong login error")
					}
				})
			}
			wg.Wait()
		},
		// 6. New threads from the addresses of one IPv6 /64.
		func() {
			v6++
			_, err := s.post(fmt.Sprintf("2001:db8:66:1::%x", v6), 0, "a thread from the /64", nil, "")
			s.count("IPv6 /64 thread " + code(err))
		},
		// 7. Query strings that would each make a cache entry.
		func() {
			resp, err := s.client.Get(fmt.Sprintf("%s/b/?bust=%d", s.base, time.Now().UnixNano()))
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				s.count("cache-busting GET " + resp.Header.Get("X-Cache"))
			}
		},
		// 8. A form from another site.
		func() {
			_, err := s.post(s.freshIP(), s.thread, "cross-site", nil, "https://evil.example")
			s.count("cross-site post " + code(err))
			time.Sleep(10 * time.Millisecond)
		},
	}
}

func code(err error) string {
	if err == nil {
		return "201"
	}
	c, _, _ := strings.Cut(err.Error(), " ")
	return c
}

// bigJPEG is a 6000x6000 JPEG whose EXIF says to turn it (orientation 6):
// a decode and a rotation of 36 megapixels.
func bigJPEG() []byte {
	img := image.NewGray(image.Rect(0, 0, 6000, 6000))
	for y := 0; y < 6000; y++ {
		for x := 0; x < 6000; x++ {
			img.SetGray(x, y, color.Gray{uint8((x + y) / 47)})
		}
	}
	var b bytes.Buffer
	jpeg.Encode(&b, img, &jpeg.Options{Quality: 40})
	exif := []byte("Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00")
	seg := append([]byte{0xff, 0xe1, byte((len(exif) + 2) >> 8), byte(len(exif) + 2)}, exif...)
	out := b.Bytes()
	return append(append(append([]byte{}, out[:2]...), seg...), out[2:]...)
}

// watchRSS samples the server's resident memory until done; it answers the
// peak, in MB.
func watchRSS(pid int, done chan struct{}) float64 {
	var peak float64
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
					kb, _ := strconv.ParseFloat(strings.Fields(v)[0], 64)
					peak = max(peak, kb/1024)
				}
			}
		}
		select {
		case <-done:
			return peak
		case <-t.C:
		}
	}
}

func pct(ds []time.Duration, p int) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[min(len(s)-1, len(s)*p/100)].Microseconds()) / 1000
}

// compareRuns prints the attack run beside the quiet one (and what the
// attacker got, from attackerFile when given) and exits 0 when the targets
// hold: the well-behaved p99 within 2x of the quiet run's, no errors for
// them, the server's peak RSS under 300 MB.
func compareRuns(quietFile, attackFile, attackerFile string) int {
	if b, err := os.ReadFile(attackerFile); err == nil {
		var got map[string]int
		json.Unmarshal(b, &got)
		keys := make([]string, 0, len(got))
		for k := range got {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Printf("attacker %-32s %d\n", k, got[k])
		}
	}
	var q, a result
	for f, r := range map[string]*result{quietFile: &q, attackFile: &a} {
		b, err := os.ReadFile(f)
		if err != nil || json.Unmarshal(b, r) != nil {
			fmt.Fprintln(os.Stderr, "abuse: cannot read", f)
			return 2
		}
	}
	ratio := a.P99 / q.P99
	fmt.Printf("well-behaved p99 under attack / quiet: %.1f / %.1f ms = %.2f (target <= 2)\n", a.P99, q.P99, ratio)
	fmt.Printf("well-behaved p50 under attack / quiet: %.1f / %.1f ms = %.2f\n", a.P50, q.P50, a.P50/q.P50)
	fmt.Printf("well-behaved errors under attack: %d (target 0)\n", a.Errors)
	for _, e := range a.ErrorList {
		fmt.Println("   ", e)
	}
	fmt.Printf("server peak RSS under attack: %.0f MB, quiet %.0f MB (target < 300)\n", a.PeakRSSMB, q.PeakRSSMB)
	ok := ratio <= 2 && a.Errors == 0 && q.Errors == 0 && a.PeakRSSMB < 300
	fmt.Println("targets:", map[bool]string{true: "met", false: "NOT met"}[ok])
	if !ok {
		return 1
	}
	return 0
}
