package statuspage

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Authenticator decides who a request is from.
type Authenticator interface {
	// Authenticate returns the user a request is from, or false.
	Authenticate(r *http.Request) (user string, ok bool)
	// Challenge answers a request that is not authenticated.
	Challenge(w http.ResponseWriter)
}

// Users authenticates with HTTP Basic authentication against a users file: one
// "name:bcrypt-hash" per line (htpasswd -B writes them), "#" comments and blank lines ignored.
type Users struct {
	hashes map[string][]byte
	dummy  []byte // compared against for unknown names, so they take as long as known ones
}

// LoadUsers reads a users file.
func LoadUsers(path string) (*Users, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	u := &Users{hashes: map[string][]byte{}}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hash, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("%s:%d: want name:bcrypt-hash", path, n)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("%s:%d: user %q: not a bcrypt hash (make one with htpasswd -nB %s)", path, n, name, name)
		}
		if _, dup := u.hashes[name]; dup {
			return nil, fmt.Errorf("%s:%d: user %q is listed twice", path, n, name)
		}
		u.hashes[name] = []byte(hash)
		u.dummy = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(u.hashes) == 0 {
		return nil, fmt.Errorf("%s: no users", path)
	}
	return u, nil
}

func (u *Users) Authenticate(r *http.Request) (string, bool) {
	name, pass, ok := r.BasicAuth()
	if !ok {
		return "", false
	}
	hash, known := u.hashes[name]
	if !known {
		hash = u.dummy
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(pass))
	return name, known && err == nil
}

func (u *Users) Challenge(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="archivist", charset="UTF-8"`)
	http.Error(w, "authentication required", http.StatusUnauthorized)
}

// TrustedHeader trusts a header naming the user, set by a reverse proxy that authenticated
// them, but only on requests that come from one of the proxy's addresses.
type TrustedHeader struct {
	Header  string
	Proxies []netip.Prefix
}

func (t *TrustedHeader) Authenticate(r *http.Request) (string, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return "", false
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return "", false
	}
	for _, p := range t.Proxies {
		if p.Contains(addr.Unmap()) {
			user := strings.TrimSpace(r.Header.Get(t.Header))
			return user, user != ""
		}
	}
	return "", false
}

func (t *TrustedHeader) Challenge(w http.ResponseWriter) {
	http.Error(w, "forbidden: come through the authenticating proxy", http.StatusForbidden)
}

// ErrNoAuth refuses a page on an address beyond loopback without authentication.
var ErrNoAuth = errors.New("not a loopback address, and no authentication is configured")

// CheckExposure returns ErrNoAuth when addr (host:port) listens beyond loopback while auth
// is nil. An empty host or 0.0.0.0 listens everywhere; a name counts as beyond loopback
// unless it is "localhost".
func CheckExposure(addr string, auth Authenticator) error {
	if auth != nil {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s: %w", addr, ErrNoAuth)
}
