package config

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"
)

// StatusPage configures the read-only status page for compliance officers (off unless
// Listen is set). Beyond loopback it needs authentication: a users file or a trusted header
// from a configured reverse proxy.
type StatusPage struct {
	Listen         string         `yaml:"listen"`          // host:port, e.g. 127.0.0.1:8788; empty (default) means off
	UsersFile      string         `yaml:"users_file"`      // "name:bcrypt-hash" lines (htpasswd -B); relative -> against config dir
	TrustedHeader  string         `yaml:"trusted_header"`  // a header naming the user, set by an authenticating proxy
	TrustedProxies []string       `yaml:"trusted_proxies"` // addresses or CIDR prefixes the header is trusted from; required with trusted_header
	TLSCertFile    string         `yaml:"tls_cert_file"`   // PEM certificate chain; with tls_key_file, the page is served over HTTPS
	TLSKeyFile     string         `yaml:"tls_key_file"`
	Timezone       string         `yaml:"timezone"` // IANA zone days and hours are counted in; default the machine's local time
	Proxies        []netip.Prefix `yaml:"-"`        // TrustedProxies parsed
	Location       *time.Location `yaml:"-"`        // Timezone loaded
}

func (s *StatusPage) resolve(dir string) {
	s.UsersFile = resolvePath(dir, s.UsersFile)
	s.TLSCertFile = resolvePath(dir, s.TLSCertFile)
	s.TLSKeyFile = resolvePath(dir, s.TLSKeyFile)
}

// Loopback reports whether Listen names a loopback address (or localhost).
func (s *StatusPage) Loopback() bool {
	host, _, err := net.SplitHostPort(s.Listen)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return host == "localhost" || err == nil && ip.IsLoopback()
}

func (s *StatusPage) validate(p *problems, key string) {
	if s.Listen == "" {
		for k, v := range map[string]string{"users_file": s.UsersFile, "trusted_header": s.TrustedHeader, "tls_cert_file": s.TLSCertFile} {
			if v != "" {
				p.add(key+"."+k, "set, but the status page is off: set %s.listen too", key)
			}
		}
		return
	}
	if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		p.add(key+".listen", "%q is not host:port: %v", s.Listen, err)
		return
	}
	s.validateAuth(p, key)
	if (s.TLSCertFile == "") != (s.TLSKeyFile == "") {
		p.add(key+".tls_cert_file", "tls_cert_file and tls_key_file go together")
	}
	for k, f := range map[string]string{"users_file": s.UsersFile, "tls_cert_file": s.TLSCertFile, "tls_key_file": s.TLSKeyFile} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			p.add(key+"."+k, "%v", err)
		}
	}
	s.Location = time.Local
	if s.Timezone != "" {
		loc, err := time.LoadLocation(s.Timezone)
		if err != nil {
			p.add(key+".timezone", "%q is not an IANA time zone: %v", s.Timezone, err)
		}
		s.Location = loc
	}
}

func (s *StatusPage) validateAuth(p *problems, key string) {
	if s.UsersFile != "" && s.TrustedHeader != "" {
		p.add(key+".trusted_header", "choose one of users_file and trusted_header")
	}
	if s.TrustedHeader != "" && len(s.TrustedProxies) == 0 {
		p.add(key+".trusted_proxies", "required with trusted_header: the addresses of the proxy that sets it")
	}
	s.Proxies = nil
	for i, a := range s.TrustedProxies {
		pre, err := netip.ParsePrefix(a)
		if err != nil && !strings.Contains(a, "/") {
			var addr netip.Addr
			if addr, err = netip.ParseAddr(a); err == nil {
				pre = netip.PrefixFrom(addr, addr.BitLen())
			}
		}
		if err != nil {
			p.add(fmt.Sprintf("%s.trusted_proxies[%d]", key, i), "%q is not an address or CIDR prefix", a)
			continue
		}
		s.Proxies = append(s.Proxies, pre)
	}
	if !s.Loopback() && s.UsersFile == "" && s.TrustedHeader == "" {
		p.add(key+".listen", "%q is not a loopback address: the page would be open to anyone who reaches it; set %s.users_file or %s.trusted_header", s.Listen, key, key)
	}
}
