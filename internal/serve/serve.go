// Package serve runs a net/http server for as long as a context lasts.
package serve

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// HTTP serves srv on ln until ctx ends, then shuts it down, letting the
// requests in flight finish (within 15 s).
func HTTP(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}
