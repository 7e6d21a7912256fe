package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/live"
	"github.com/maniwani/maniwani/pubsub/memory"
)

// A post on live's stream is the post of the thread JSON, byte for byte,
// with "board" in front: what the api publishes of a post, live renders
// as the api serves it. An opening post's event is its JSON without what
// only an OP carries.
func TestLiveEventIsThreadJSON(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		bus := memory.New(memory.Config{})
		t.Cleanup(func() { bus.Close() })
		ids := maniwani.DefaultBoard()
		ids.Name, ids.PosterIDs = "i", true
		s := newSiteWith(t, kind, "127.0.0.1/32", func(c *api.Config, d *api.Deps) {
			d.Media = diskMedia(t, d)
			d.Bus, c.TempDir = bus, t.TempDir()
		}, ids)
		lv, err := live.New(live.Config{}, live.Deps{Bus: bus, Reader: s.svc})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(lv.Handler())
		t.Cleanup(func() { lv.Shutdown(); srv.Close() })
		events := openStream(t, srv.URL+"/live/i")

		posted := func(a answer) int64 {
			t.Helper()
			if a.code != http.StatusCreated {
				t.Fatalf("post answered %d: %s", a.code, a.body)
			}
			return int64(a.json(t)["no"].(float64))
		}
		op := posted(s.postParts("i", "10.9.0.1", part{"sub", "Cats & <dogs>"}, part{"name", "Kot#secret"},
			part{"com", ">greentext & \"quotes\"\n<b>not bold</b>"}, part{"upfile", photo(t, false)}))
		s.advance(time.Second)
		withFile := posted(s.postParts("i", "10.9.0.2", part{"resto", fmt.Sprint(op)},
			part{"com", fmt.Sprintf(">>%d\nspoilered, ünïcode", op)}, part{"spoiler", "on"}, part{"upfile", photo(t, false)}))
		s.advance(time.Second)
		plain := posted(s.postParts("i", "10.9.0.3", part{"resto", fmt.Sprint(op)}, part{"com", "a plain reply"}))

		a := s.get(fmt.Sprintf("/i/thread/%d.json", op))
		var thread struct{ Posts []json.RawMessage }
		if err := json.Unmarshal(a.body, &thread); err != nil || len(thread.Posts) != 3 {
			t.Fatalf("thread JSON (%v): %s", err, a.body)
		}
		// The board stream: the OP as thread and post, then each reply.
		want := []struct {
			event string
			no    int64
			json  json.RawMessage
		}{{"thread", op, thread.Posts[0]}, {"post", op, thread.Posts[0]},
			{"post", withFile, thread.Posts[1]}, {"post", plain, thread.Posts[2]}}
		for _, w := range want {
			ev := <-events
			if ev.event != w.event {
				t.Fatalf("event %q (%s), want %q of No.%d", ev.event, ev.data, w.event, w.no)
			}
			body := w.json
			if w.no == op {
				body = withoutOPFields(t, body)
			}
			if wantData := `{"board":"i",` + string(body[1:]); ev.data != wantData {
				t.Errorf("No.%d's %s event:\n%s\nits thread JSON:\n%s", w.no, ev.event, ev.data, wantData)
			}
		}
		// What the test meant to cover is there.
		for k, post := range map[string]json.RawMessage{`"trip":`: thread.Posts[0], `"id":`: thread.Posts[0],
			`"spoiler":1`: thread.Posts[1], `"tn_w":`: thread.Posts[1], `&amp;`: thread.Posts[0], `<span class=\"quote\">`: thread.Posts[0]} {
			if !bytes.Contains(post, []byte(k)) {
				t.Errorf("the thread JSON lacks %s: %s", k, post)
			}
		}
	})
}

// withoutOPFields is an opening post's JSON without what only an OP
// carries (the contract: an OP adds sticky, closed, replies, ...), in the
// api's encoding.
func withoutOPFields(t *testing.T, body []byte) []byte {
	t.Helper()
	var p maniwani.PostJSON
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if again := encodeJSON(t, &p); !bytes.Equal(again, body) {
		t.Fatalf("the OP's JSON does not encode back to itself:\n%s\n%s", again, body)
	}
	p.Sticky, p.Closed, p.Replies, p.Images, p.BumpLimit, p.ImageLimit = 0, 0, nil, nil, 0, 0
	p.LastModified, p.SemanticURL, p.Archived, p.ArchivedOn, p.UniqueIPs = 0, "", 0, 0, 0
	return encodeJSON(t, &p)
}

// encodeJSON encodes as the api and live do: HTML as it is.
func encodeJSON(t *testing.T, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

type sseEvent struct{ event, data string }

// openStream reads the SSE stream at url until the test ends, sending each
// event on the channel it returns.
func openStream(t *testing.T, url string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	ch := make(chan sseEvent, 16)
	go func() {
		defer resp.Body.Close()
		var ev sseEvent
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.event = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[len("data: "):]
			case line == "" && ev.event != "":
				select {
				case ch <- ev:
				case <-ctx.Done():
					return
				}
				ev = sseEvent{}
			}
		}
	}()
	return ch
}
