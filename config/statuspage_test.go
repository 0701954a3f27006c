package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestStatusPage(t *testing.T) {
	base := readFixture(t, "minimal.yaml")
	load := func(t *testing.T, extra string) (*Config, error) {
		path := newConfigDir(t, base+extra)
		writeFile(t, filepath.Join(filepath.Dir(path), "users"), "alice:$2a$10$abcdefghijklmnopqrstuuJ1R3aWcJ0qL4mD0S6x7W8Y9Z0a1b2c3d\n", 0o600)
		return Load(path)
	}
	for _, c := range []struct{ name, extra, want string }{
		{"beyond loopback without authentication", "status_page: {listen: '0.0.0.0:8788'}\n", `status_page.listen: "0.0.0.0:8788" is not a loopback address`},
		{"a name is beyond loopback", "status_page: {listen: 'archive.example.com:8788'}\n", `status_page.listen: "archive.example.com:8788" is not a loopback address`},
		{"trusted header without proxies", "status_page: {listen: '0.0.0.0:8788', trusted_header: X-Remote-User}\n", `status_page.trusted_proxies: required with trusted_header`},
		{"bad proxy", "status_page: {listen: '0.0.0.0:8788', trusted_header: X-Remote-User, trusted_proxies: [proxy]}\n", `status_page.trusted_proxies[0]: "proxy" is not an address`},
		{"both kinds", "status_page: {listen: '0.0.0.0:8788', users_file: users, trusted_header: X, trusted_proxies: [10.0.0.1]}\n", `choose one of users_file and trusted_header`},
		{"missing users file", "status_page: {listen: '0.0.0.0:8788', users_file: nobody}\n", `status_page.users_file: stat`},
		{"cert without key", "status_page: {listen: '127.0.0.1:8788', tls_cert_file: users}\n", `tls_cert_file and tls_key_file go together`},
		{"bad zone", "status_page: {listen: '127.0.0.1:8788', timezone: Mars/Olympus}\n", `status_page.timezone: "Mars/Olympus"`},
		{"auth but off", "status_page: {users_file: users}\n", `status_page.users_file: set, but the status page is off`},
		{"not host:port", "status_page: {listen: '8788'}\n", `status_page.listen: "8788" is not host:port`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := load(t, c.extra)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
	for _, extra := range []string{
		"status_page: {listen: '127.0.0.1:8788'}\n",
		"status_page: {listen: '[::1]:8788', timezone: Europe/Zurich}\n",
		"status_page: {listen: '0.0.0.0:8788', users_file: users}\n",
		"status_page: {listen: '0.0.0.0:8788', trusted_header: X-Remote-User, trusted_proxies: [127.0.0.1, '10.1.0.0/16']}\n",
	} {
		c, err := load(t, extra)
		if err != nil {
			t.Errorf("%s: %v", extra, err)
			continue
		}
		if c.StatusPage.Location == nil {
			t.Errorf("%s: no location", extra)
		}
	}
}
