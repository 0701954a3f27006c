package control

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// ShutdownGrace is how long ServeUntil lets the requests in flight finish once its context
// ends; then it closes their connections.
const ShutdownGrace = 5 * time.Second

// ServeUntil runs serve (srv.Serve on a listener, or ServeTLS) until ctx ends, then shuts srv
// down and returns only when the requests in flight have finished (or ShutdownGrace passed
// and their connections were closed). http.Server.Serve returns as soon as Shutdown closes
// the listeners, with handlers still running: a caller that closed the journal then would
// have them read a closed journal. An error of serve other than http.ErrServerClosed is
// returned as it is.
func ServeUntil(ctx context.Context, srv *http.Server, serve func() error) error {
	done := make(chan error, 1)
	go func() { done <- serve() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		err = errors.Join(err, srv.Close())
	}
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
