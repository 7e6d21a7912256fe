package s3_test

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/testminio"
	"github.com/maniwani/maniwani/media/s3"
	"github.com/maniwani/maniwani/media/storetest"
)

func config(b *testminio.Bucket) s3.Config {
	return s3.Config{Endpoint: b.Endpoint, AccessKey: b.AccessKey, SecretKey: b.SecretKey, Bucket: b.Name}
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) maniwani.FileStore {
		s, err := s3.New(context.Background(), config(testminio.New(t)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestCreatesBucket(t *testing.T) {
	b := testminio.New(t)
	ctx := context.Background()
	if err := b.Client.RemoveBucket(ctx, b.Name); err != nil {
		t.Fatal(err)
	}
	s, err := s3.New(ctx, config(b))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := b.Client.BucketExists(ctx, b.Name); !ok || err != nil {
		t.Fatalf("bucket exists = %v, %v after New", ok, err)
	}
	if err := s.Put(ctx, "k", strings.NewReader("v"), 1); err != nil {
		t.Fatal(err)
	}
	// A second store on the same bucket finds it there.
	if _, err := s3.New(ctx, config(b)); err != nil {
		t.Fatal(err)
	}
}

// TestUnavailable talks to MinIO through a proxy, then takes the proxy
// away: every call is KindUnavailable, as is New on a dead address.
func TestUnavailable(t *testing.T) {
	b := testminio.New(t)
	p := newProxy(t, b.Endpoint)
	cfg := config(b)
	cfg.Endpoint = p.addr()
	ctx := context.Background()
	s, err := s3.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "k", strings.NewReader("v"), 1); err != nil {
		t.Fatal(err)
	}
	p.close()

	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	check := func(what string, err error) {
		t.Helper()
		if maniwani.ErrorKind(err) != maniwani.KindUnavailable {
			t.Errorf("%s with the server gone = %v, want KindUnavailable", what, err)
		}
	}
	_, err = s.Stat(ctx, "k")
	check("Stat", err)
	_, err = s.Open(ctx, "k")
	check("Open", err)
	check("Put", s.Put(ctx, "k", strings.NewReader("w"), 1))
	check("Delete", s.Delete(ctx, "k"))
	_, err = s3.New(ctx, cfg)
	check("New", err)
}

// proxy forwards TCP connections to a server until closed.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	t.Cleanup(p.close)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
