package statuspage

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/archivist-project/archivist/cmd/archivist/control"
	"github.com/archivist-project/archivist/config"
)

// Server is a status page bound to its address, ready to serve.
type Server struct {
	ln  net.Listener
	srv *http.Server
	tls bool
}

// Listen binds the page of cfg (status_page) to its address, so that a port in use, a
// missing certificate or a bad users file fails the daemon's start instead of a goroutine
// later. It refuses an address beyond loopback without authentication.
func Listen(cfg config.StatusPage, o Options) (*Server, error) {
	auth, err := authenticator(cfg)
	if err != nil {
		return nil, err
	}
	if err := CheckExposure(cfg.Listen, auth); err != nil {
		return nil, fmt.Errorf("status_page.listen: %w: set status_page.users_file or status_page.trusted_header", err)
	}
	o.Auth, o.Location = auth, cfg.Location
	s := &Server{srv: &http.Server{Handler: New(o), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 2 * time.Minute}}
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("status_page.tls_cert_file: %w", err)
		}
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.tls = true
	}
	if s.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("status_page.listen: %w", err)
	}
	return s, nil
}

// Check loads what Listen would (the users file, the certificate) and applies its exposure
// rule, without binding the address: for archivist check-config.
func Check(cfg config.StatusPage) error {
	auth, err := authenticator(cfg)
	if err != nil {
		return err
	}
	if err := CheckExposure(cfg.Listen, auth); err != nil {
		return fmt.Errorf("status_page.listen: %w", err)
	}
	if cfg.TLSCertFile != "" {
		if _, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile); err != nil {
			return fmt.Errorf("status_page.tls_cert_file: %w", err)
		}
	}
	return nil
}

func authenticator(cfg config.StatusPage) (Authenticator, error) {
	switch {
	case cfg.UsersFile != "":
		u, err := LoadUsers(cfg.UsersFile)
		if err != nil {
			return nil, fmt.Errorf("status_page.users_file: %w", err)
		}
		return u, nil
	case cfg.TrustedHeader != "":
		return &TrustedHeader{Header: cfg.TrustedHeader, Proxies: cfg.Proxies}, nil
	}
	return nil, nil
}

// Addr is the address the page listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is the page's address as a browser would open it.
func (s *Server) URL() string {
	scheme := "http"
	if s.tls {
		scheme = "https"
	}
	return scheme + "://" + s.ln.Addr().String()
}

// Serve serves until ctx ends, then closes the listener and waits for the requests in
// flight (at most five seconds).
func (s *Server) Serve(ctx context.Context) error {
	serve := func() error { return s.srv.Serve(s.ln) }
	if s.tls {
		serve = func() error { return s.srv.ServeTLS(s.ln, "", "") }
	}
	if err := control.ServeUntil(ctx, s.srv, serve); err != nil {
		return fmt.Errorf("status page: %w", err)
	}
	return nil
}
