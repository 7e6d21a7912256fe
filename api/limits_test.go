package api_test

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
)

// send makes a request without failing the test from another goroutine: a
// transport error is status 0.
func (s *site) send(req *http.Request) answer {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return answer{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

func formReq(t *testing.T, url, ip string, fields ...string) *http.Request {
	ct, body := form(t, fields...)
	req, _ := http.NewRequest("POST", url, body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	return req
}

// parallel sends n requests at once, made by mk, and counts their statuses.
func (s *site) parallel(n int, mk func(i int) *http.Request) map[int]int {
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = mk(i)
	}
	var mu sync.Mutex
	codes := map[int]int{}
	var noRetry atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, req := range reqs {
		wg.Go(func() {
			<-start
			a := s.send(req)
			mu.Lock()
			codes[a.code]++
			mu.Unlock()
			if a.code == http.StatusTooManyRequests && a.header.Get("Retry-After") == "" && noRetry.Add(1) == 1 {
				s.t.Errorf("a 429 without Retry-After: %s", a.body)
			}
		})
	}
	close(start)
	wg.Wait()
	return codes
}

// Reports sent at once from one address: five go through, on both
// databases; an IPv6 /64 is one address.
func TestParallelReports(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s := newSite(t, kind, "127.0.0.1/32")
		op := s.mustPost("b", "10.0.0.1", "com", "spam")
		codes := s.parallel(40, func(int) *http.Request {
			return formReq(t, s.url+"/b/report", "10.8.0.1", "no", fmt.Sprint(op))
		})
		if codes[201] != 5 || codes[429] != 35 {
			t.Errorf("40 parallel reports from one address: %v, want 5 201s and 35 429s", codes)
		}
		for i := range 6 {
			want := 201
			if i == 5 {
				want = 429
			}
			if a := s.sendForm("/b/report", fmt.Sprintf("2001:db8:8:8::%x", i+1), "no", fmt.Sprint(op)); a.code != want {
				t.Errorf("report %d from one /64: %d, want %d", i+1, a.code, want)
			}
		}
	})
}

// Guesses at a post's password: ten wrong ones per address (an IPv6 /64)
// an hour, however many are sent at once; a right one or a post that does
// not exist costs nothing.
func TestDeleteGuesses(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s := newSite(t, kind, "127.0.0.1/32")
		op := s.mustPost("b", "10.0.0.1", "com", "op", "pwd", "op-secret")
		for i := range 12 {
			if a := s.sendForm("/b/delete", "10.9.1.1", "no", "99999", "pwd", "x"); a.code != 404 {
				t.Fatalf("delete #%d of no post: %d", i+1, a.code)
			}
		}
		codes := s.parallel(40, func(i int) *http.Request {
			return formReq(t, s.url+"/b/delete", fmt.Sprintf("2001:db8:9:9::%x", i+1), "no", fmt.Sprint(op), "pwd", fmt.Sprint("guess", i))
		})
		if codes[403] != 10 || codes[429] != 30 {
			t.Errorf("40 parallel wrong passwords from one /64: %v, want 10 403s and 30 429s", codes)
		}
		if a := s.sendForm("/b/delete", "2001:db8:9:9::abc", "no", fmt.Sprint(op), "pwd", "op-secret"); a.code != 429 {
			t.Errorf("the right password from the spent /64: %d, want 429", a.code)
		}
		if a := s.sendForm("/b/delete", "10.9.1.1", "no", fmt.Sprint(op), "pwd", "op-secret"); a.code != 200 {
			t.Errorf("the right password from another address: %d %s", a.code, a.body)
		}
	})
}
