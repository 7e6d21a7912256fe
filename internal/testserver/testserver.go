// Package testserver starts the servers that a package's tests need and no
// one else has running: a nats-server with JetStream, a three-master Redis
// Cluster. Each is started on first use, once per test binary, on free
// ports with its files in a folder of its own, and stopped by Main when
// the tests end. A missing program skips the test, except under CI=true,
// where it is a failure.
//
// The servers are kept in package state because one test binary shares
// them: starting a cluster per test would cost seconds each.
package testserver

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// A server is started once; err is why it could not be.
type server struct {
	once  sync.Once
	addrs []string
	err   error
	skip  bool // a program is missing: skip, unless CI=true
}

var (
	mu      sync.Mutex
	procs   []*exec.Cmd
	dirs    []string
	nats    server
	cluster server
)

// Main runs the package's tests and then stops the servers they started;
// call it from TestMain: os.Exit(testserver.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Stop stops every server started so far.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	for _, p := range procs {
		_ = p.Process.Kill()
		_, _ = p.Process.Wait()
	}
	for _, d := range dirs {
		_ = os.RemoveAll(d)
	}
	procs, dirs = nil, nil
}

func (s *server) get(t testing.TB, start func() ([]string, error), program string) []string {
	t.Helper()
	s.once.Do(func() {
		if _, err := exec.LookPath(program); err != nil {
			s.skip, s.err = true, fmt.Errorf("%s is not installed (scripts/services.sh installs it)", program)
			return
		}
		s.addrs, s.err = start()
	})
	if s.err != nil {
		if s.skip && os.Getenv("CI") != "true" {
			t.Skip(s.err)
		}
		t.Fatal(s.err)
	}
	return s.addrs
}

// NATS is the URL of a nats-server with JetStream of this test binary's
// own. Tests share it: each uses names of its own.
func NATS(t testing.TB) string {
	return "nats://" + nats.get(t, startNATS, "nats-server")[0]
}

// RedisCluster are the addresses of the three masters of a Redis Cluster
// of this test binary's own, with every slot served. Tests share it: each
// uses a key prefix of its own.
func RedisCluster(t testing.TB) []string {
	return cluster.get(t, startCluster, "redis-server")
}

func tempDir(name string) (string, error) {
	d, err := os.MkdirTemp("", "maniwani-"+name+"-")
	if err != nil {
		return "", err
	}
	mu.Lock()
	dirs = append(dirs, d)
	mu.Unlock()
	return d, nil
}

// run starts a server program, its output in log; it dies with the test
// binary should Main not get to stop it.
func run(log string, name string, args ...string) error {
	out, err := os.Create(log)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	mu.Lock()
	procs = append(procs, cmd)
	mu.Unlock()
	return nil
}

// freePort is a port nothing listens on now, and whose port+offset is
// free too (a Redis Cluster node's bus port is its port + 10000).
func freePort(offset int) (int, error) {
	for range 100 {
		p := 20000 + rand.IntN(25000)
		ok := true
		for _, q := range []int{p, p + offset} {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(q))
			if err != nil {
				ok = false
				break
			}
			ln.Close()
		}
		if ok {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free port")
}

// until polls f for up to 15 s.
func until(what string, f func() error) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %w", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(log string) string {
	b, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], "\n")
}

func startNATS() ([]string, error) {
	dir, err := tempDir("nats")
	if err != nil {
		return nil, err
	}
	port, err := freePort(0)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	log := filepath.Join(dir, "log")
	if err := run(log, "nats-server", "-js", "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-sd", dir); err != nil {
		return nil, err
	}
	err = until("nats-server did not start", func() error {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, tail(log))
	}
	return []string{addr}, nil
}

func startCluster() ([]string, error) {
	dir, err := tempDir("redis-cluster")
	if err != nil {
		return nil, err
	}
	var addrs []string
	for i := range 3 {
		port, err := freePort(10000)
		if err != nil {
			return nil, err
		}
		d := filepath.Join(dir, strconv.Itoa(i))
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, err
		}
		if err := run(filepath.Join(d, "log"), "redis-server", "--dir", d, "--bind", "127.0.0.1",
			"--port", strconv.Itoa(port), "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "2000", "--save", "", "--appendonly", "no"); err != nil {
			return nil, err
		}
		addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(port))
	}
	ctx := context.Background()
	for _, a := range addrs {
		c := goredis.NewClient(&goredis.Options{Addr: a, MaxRetries: -1})
		err := until("redis-server "+a+" did not start", func() error { return c.Ping(ctx).Err() })
		c.Close()
		if err != nil {
			return nil, err
		}
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	out, err := exec.Command("redis-cli", append(args, "--cluster-yes")...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, a := range addrs {
		c := goredis.NewClient(&goredis.Options{Addr: a, MaxRetries: -1})
		err := until("the cluster did not come up at "+a, func() error {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && (!strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_known_nodes:3")) {
				err = fmt.Errorf("%s", info)
			}
			return err
		})
		c.Close()
		if err != nil {
			return nil, err
		}
	}
	return addrs, nil
}

// ClusterClient connects to the RedisCluster under a key prefix of the
// test's own; the client is closed and every key under the prefix, on every
// master, deleted when the test ends.
func ClusterClient(t testing.TB) (*goredis.ClusterClient, string) {
	t.Helper()
	addrs := RedisCluster(t)
	var b [6]byte
	crand.Read(b[:])
	prefix := "maniwani-test-" + hex.EncodeToString(b[:])
	c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs, ClientName: prefix})
	t.Cleanup(func() {
		ctx := context.Background()
		err := c.ForEachMaster(ctx, func(ctx context.Context, n *goredis.Client) error {
			iter := n.Scan(ctx, 0, prefix+":*", 100).Iterator()
			for iter.Next(ctx) {
				n.Del(ctx, iter.Val())
			}
			return iter.Err()
		})
		if err != nil {
			t.Errorf("cleaning up Redis Cluster keys %s:*: %v", prefix, err)
		}
		c.Close()
	})
	return c, prefix
}

// Keys are the keys matching pattern, on every master of c when it is a
// cluster's client.
func Keys(ctx context.Context, c goredis.UniversalClient, pattern string) ([]string, error) {
	cc, ok := c.(*goredis.ClusterClient)
	if !ok {
		return c.Keys(ctx, pattern).Result()
	}
	var mu sync.Mutex
	var out []string
	err := cc.ForEachMaster(ctx, func(ctx context.Context, n *goredis.Client) error {
		keys, err := n.Keys(ctx, pattern).Result()
		mu.Lock()
		out = append(out, keys...)
		mu.Unlock()
		return err
	})
	return out, err
}
