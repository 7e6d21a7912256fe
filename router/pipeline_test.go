package router_test

import (
	"bufio"
	"compress/gzip"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Cached bodies go out beside their header in one writev (see conn in
// router.go). Pipelined requests on one connection, big and small, plain,
// gzip and HEAD, must each get exactly their own answer, in order.
func TestPipelinedAnswersOnOneConnection(t *testing.T) {
	f := newFakeAPI()
	base, _ := localRouter(t, f)
	big, small := "/b/thread/12.json", "/s/thread/13.json"
	for _, p := range []string{big, small} { // fill the cache
		get(t, base+p)
	}
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	reqs := []struct{ method, path, enc string }{
		{"GET", big, ""}, {"GET", small, ""}, {"GET", big, "gzip"}, {"HEAD", big, ""},
		{"GET", big, ""}, {"GET", small, "gzip"}, {"GET", big, ""},
	}
	var raw strings.Builder
	for _, r := range reqs {
		raw.WriteString(r.method + " " + r.path + " HTTP/1.1\r\nHost: x\r\n")
		if r.enc != "" {
			raw.WriteString("Accept-Encoding: " + r.enc + "\r\n")
		}
		raw.WriteString("\r\n")
	}
	if _, err := io.WriteString(c, raw.String()); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for i, r := range reqs {
		req, _ := http.NewRequest(r.method, base+r.path, nil)
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		var b []byte
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatalf("answer %d: %v", i, err)
			}
			b, err = io.ReadAll(zr)
			if err != nil {
				t.Fatalf("answer %d: %v", i, err)
			}
		} else {
			b, _ = io.ReadAll(resp.Body)
		}
		resp.Body.Close()
		want := bigBody(r.path, 0)
		if r.path == small {
			want = `{"v":0}`
		}
		if r.method == "HEAD" {
			want = ""
		}
		if resp.StatusCode != 200 || string(b) != want || resp.Header.Get("X-Cache") != "HIT" {
			t.Fatalf("answer %d (%s %s %s): %d %s, %d bytes, want %d", i, r.method, r.path, r.enc,
				resp.StatusCode, resp.Header.Get("X-Cache"), len(b), len(want))
		}
	}
}
