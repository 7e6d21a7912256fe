package router

import (
	"errors"
	"net"
	"sync"
)

// pipeListener is a listener inside the process: Dial hands the server one
// end of a net.Pipe. Nothing outside the process can reach it, which is why
// a local service may believe the client address the router sends along.
// (net.Pipe keeps deadlines right, which net/http's server relies on to
// stop its background reads between requests. fasthttputil's
// InmemoryListener does not: a Read already blocked misses a new deadline,
// so the server's connection stays stuck after each answer until the next
// request; see TestPipeFreesTheServerAfterAnswer.)
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

var errListenerClosed = errors.New("router: in-process listener closed")

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, errListenerClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// Dial connects to the listener.
func (l *pipeListener) Dial() (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		client.Close()
		server.Close()
		return nil, errListenerClosed
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "in-process" }
