// Package dnstest runs a small DNS server for tests: it answers A
// questions for the names it is given and NXDOMAIN for every other, on a
// loopback UDP port, and hands out a net.Resolver that asks only it.
package dnstest

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// Server is a running test DNS server.
type Server struct {
	conn *net.UDPConn
	mu   sync.Mutex
	a    map[string]netip.Addr // by lower-case name with its final dot
	fail map[string]bool       // names answered SERVFAIL
	// hold, when set, is waited on before any answer: a test that closes
	// it late sees lookups in flight, and one that never does sees them
	// time out.
	hold    chan struct{}
	asked   map[string]int
	arrived chan string
}

// Start runs a server until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{conn: conn, a: map[string]netip.Addr{}, fail: map[string]bool{},
		asked: map[string]int{}, arrived: make(chan string, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.serve()
	}()
	t.Cleanup(func() {
		conn.Close()
		s.Release()
		<-done
	})
	return s
}

func canonical(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// Set answers name with the A record a.
func (s *Server) Set(name string, a netip.Addr) {
	s.mu.Lock()
	s.a[canonical(name)] = a
	s.mu.Unlock()
}

// Fail answers name with SERVFAIL.
func (s *Server) Fail(name string) {
	s.mu.Lock()
	s.fail[canonical(name)] = true
	s.mu.Unlock()
}

// Hold keeps every answer back until Release.
func (s *Server) Hold() {
	s.mu.Lock()
	s.hold = make(chan struct{})
	s.mu.Unlock()
}

// Release sends the answers held back, and those to come at once.
func (s *Server) Release() {
	s.mu.Lock()
	if s.hold != nil {
		close(s.hold)
		s.hold = nil
	}
	s.mu.Unlock()
}

// Asked is how many questions came for name.
func (s *Server) Asked(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked[canonical(name)]
}

// Arrived receives the name of each question as it comes.
func (s *Server) Arrived() <-chan string { return s.arrived }

// Resolver asks this server only, over UDP, by Go's own resolver.
func (s *Server) Resolver() *net.Resolver {
	addr := s.conn.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

func (s *Server) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			return // closed
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		if err != nil {
			continue
		}
		q, err := p.Question()
		if err != nil {
			continue
		}
		name := canonical(q.Name.String())
		s.mu.Lock()
		s.asked[name]++
		hold := s.hold
		a, found := s.a[name]
		fail := s.fail[name]
		s.mu.Unlock()
		select {
		case s.arrived <- name:
		default:
		}
		go func() {
			if hold != nil {
				<-hold
			}
			s.answer(from, h.ID, q, a, found, fail)
		}()
	}
}

func (s *Server) answer(to *net.UDPAddr, id uint16, q dnsmessage.Question, a netip.Addr, found, fail bool) {
	h := dnsmessage.Header{ID: id, Response: true, Authoritative: true, RecursionDesired: true, RecursionAvailable: true}
	switch {
	case fail:
		h.RCode = dnsmessage.RCodeServerFailure
	case !found:
		h.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, h)
	b.EnableCompression()
	b.StartQuestions()
	b.Question(q)
	if found && !fail && q.Type == dnsmessage.TypeA {
		b.StartAnswers()
		b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 60},
			dnsmessage.AResource{A: a.As4()})
	}
	msg, err := b.Finish()
	if err != nil {
		return
	}
	s.conn.WriteToUDP(msg, to)
}
