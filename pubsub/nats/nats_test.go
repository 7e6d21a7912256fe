package nats_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/testserver"
	"github.com/maniwani/maniwani/pubsub/bustest"
	"github.com/maniwani/maniwani/pubsub/nats"
)

func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }

func connect(t *testing.T, url string) *natsgo.Conn {
	t.Helper()
	nc, err := natsgo.Connect(url, natsgo.MaxReconnects(-1), natsgo.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// prefix is a stream prefix of the test's own.
func prefix() string {
	var b [6]byte
	rand.Read(b[:])
	return "test_" + hex.EncodeToString(b[:])
}

func newBus(t *testing.T, nc *natsgo.Conn) *nats.Bus {
	t.Helper()
	b, err := nats.New(nats.Config{
		Prefix:           prefix(),
		HistoryLen:       bustest.HistoryLen,
		Visibility:       bustest.Visibility,
		MaxDeliveries:    bustest.MaxDeliveries,
		SubscriberBuffer: bustest.SubscriberBuffer,
	}, nc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestBus(t *testing.T) {
	url := testserver.NATS(t)
	bustest.Run(t, func(t *testing.T) maniwani.Bus { return newBus(t, connect(t, url)) })
}

func TestPrefix(t *testing.T) {
	nc := connect(t, testserver.NATS(t))
	if _, err := nats.New(nats.Config{Prefix: "a.b"}, nc); err == nil {
		t.Error("New accepted a prefix with a dot")
	}
}

// TestNames: topics that differ only in what a subject cannot hold (dots,
// wildcards, spaces) are still apart.
func TestNames(t *testing.T) {
	b := newBus(t, connect(t, testserver.NATS(t)))
	ctx := t.Context()
	topics := []string{"board.b", "board~2eb", "board*b", "board>b", "board b", "bóard.b"}
	for _, tp := range topics {
		if _, err := b.Publish(ctx, tp, []byte(tp)); err != nil {
			t.Fatalf("Publish to %q: %v", tp, err)
		}
	}
	for _, tp := range topics {
		ms, err := b.Replay(ctx, tp, "", 10)
		if err != nil || len(ms) != 1 || string(ms[0].Data) != tp {
			t.Errorf("Replay of %q: %v, %v", tp, ms, err)
		}
	}
}

// TestStreamMadeAgain: after a topic's stream is deleted and made again,
// its IDs come after the old ones and an old ID's history is gone.
func TestStreamMadeAgain(t *testing.T) {
	nc := connect(t, testserver.NATS(t))
	p := prefix()
	b, err := nats.New(nats.Config{Prefix: p}, nc)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := t.Context()
	old, err := b.Publish(ctx, "t", []byte("old"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond) // another millisecond for the new stream
	if _, err := nc.Request("$JS.API.STREAM.DELETE."+p+"_t_t", nil, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	again, err := b.Publish(ctx, "t", []byte("new"))
	if err != nil {
		t.Fatal(err)
	}
	if maniwani.CompareIDs(again, old) <= 0 {
		t.Errorf("ID %s of the new stream is not after %s", again, old)
	}
	if _, err := b.Replay(ctx, "t", old, 10); !errors.Is(err, maniwani.ErrHistoryGone) {
		t.Errorf("Replay after an ID of the old stream: %v, want ErrHistoryGone", err)
	}
	if ms, err := b.Replay(ctx, "t", "", 10); err != nil || len(ms) != 1 || ms[0].ID != again {
		t.Errorf("Replay of the new stream: %v, %v", ms, err)
	}
}

// proxy passes TCP between a client and addr until cut is called.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, addr string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestConnectionLost checks that a subscription whose connection dies ends
// with KindUnavailable rather than going on past what it may have missed.
func TestConnectionLost(t *testing.T) {
	url := testserver.NATS(t)
	p := newProxy(t, url[len("nats://"):])
	b := newBus(t, connect(t, "nats://"+p.ln.Addr().String()))
	s, err := b.Subscribe(t.Context(), "t")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p.cut()
	select {
	case _, ok := <-s.C():
		if ok {
			t.Fatal("unexpected message")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("subscription did not end")
	}
	if maniwani.ErrorKind(s.Err()) != maniwani.KindUnavailable || errors.Is(s.Err(), maniwani.ErrSlowSubscriber) {
		t.Errorf("Err = %v, want KindUnavailable", s.Err())
	}
	// Once reconnected, the bus works again.
	var id string
	deadline := time.Now().Add(5 * time.Second)
	for id == "" && time.Now().Before(deadline) {
		id, _ = b.Publish(t.Context(), "t", []byte("x"))
	}
	if id == "" {
		t.Fatal("no Publish after the connection came back")
	}
}
