// Command bus is the load of bench/bus/run.sh: posters reply to one thread
// through a router for a while, as fast as they are answered, while one
// live client of the thread, through the same router, notes when each
// reply reaches it. It prints one line: posts/s, and the delivery latency
// (the post sent to its live event) p50 and p99. It is counted from the
// sending: the event often comes before the post's own 201.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "", "the router, http://127.0.0.1:PORT")
	thread := flag.Int64("thread", 0, "the thread on board b the posts reply to")
	posters := flag.Int("posters", 8, "concurrent posters")
	d := flag.Duration("duration", 5*time.Second, "how long they post")
	flag.Parse()
	if err := run(*url, *thread, *posters, *d); err != nil {
		fmt.Fprintln(os.Stderr, "bus:", err)
		os.Exit(1)
	}
}

func run(url string, thread int64, posters int, d time.Duration) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	got := map[int64]time.Time{}  // post number -> when live had it
	sent := map[int64]time.Time{} // post number -> when it was sent

	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/live/b/%d", url, thread), nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("X-Forwarded-For", "10.250.0.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("live stream: %s", resp.Status)
	}
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var p struct{ No int64 }
			if json.Unmarshal([]byte(data), &p) == nil && p.No != 0 {
				now := time.Now()
				mu.Lock()
				got[p.No] = now
				mu.Unlock()
			}
		}
	}()
	time.Sleep(300 * time.Millisecond) // the stream is open

	var n, failed atomic.Int64
	var ip atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for range posters {
		wg.Go(func() {
			for time.Now().Before(stop) {
				at := time.Now()
				no, err := post(url, thread, ip.Add(1))
				if err != nil {
					failed.Add(1)
					continue
				}
				mu.Lock()
				sent[no] = at
				mu.Unlock()
				n.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	time.Sleep(time.Second) // the last deliveries
	mu.Lock()
	defer mu.Unlock()
	var lat []time.Duration
	missed := 0
	for no, at := range sent {
		g, ok := got[no]
		if !ok {
			missed++
			continue
		}
		lat = append(lat, g.Sub(at))
	}
	slices.Sort(lat)
	q := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	fmt.Printf("posts/s %.0f p50_ms %.1f p99_ms %.1f posts %d failed %d missed %d\n",
		float64(n.Load())/elapsed.Seconds(), q(0.50), q(0.99), n.Load(), failed.Load(), missed)
	return nil
}

// post replies to the thread from an address of its own (no cooldown).
func post(url string, thread, ip int64) (int64, error) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("resto", fmt.Sprint(thread))
	w.WriteField("com", fmt.Sprintf("bus bench reply %d", ip))
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, url+"/b/post", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", 1+ip>>16&0xff, ip>>8&0xff, ip&0xff))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct {
		No    int64
		Error string
	}
	json.NewDecoder(resp.Body).Decode(&r)
	if resp.StatusCode != http.StatusCreated {
		return 0, fmt.Errorf("%s: %s", resp.Status, r.Error)
	}
	return r.No, nil
}
