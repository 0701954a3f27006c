package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNotify(t *testing.T) {
	base := readFixture(t, "minimal.yaml")
	for _, c := range []struct{ name, extra, want string }{
		{"not a URL", "notify: {webhook_url: 'ftp://hooks.example.com/x'}\n", "notify.webhook_url: not an http(s) URL"},
		{"user info", "notify: {webhook_url: 'https://bot:s3cret@hooks.example.com/x'}\n", "notify.webhook_url: must not hold user info"},
		{"negative", "notify: {webhook_url: 'https://hooks.example.com/x', down_after: -1m}\n", "notify.down_after: must be greater than 0"},
		{"secret without URL", "notify: {secret_file: hook.secret}\n", "notify.secret_file: set, but there is no notify.webhook_url"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(newConfigDir(t, base+c.extra))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error repeats the URL's password: %v", err)
			}
		})
	}
	path := newConfigDir(t, base+"notify: {webhook_url: 'https://hooks.example.com/x', secret_file: hook.secret}\n")
	writeFile(t, filepath.Join(filepath.Dir(path), "hook.secret"), "shared-secret\n", 0o600)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Notify.Secret.Reveal() != "shared-secret" || c.Notify.DownAfter != Duration(15*time.Minute) {
		t.Errorf("notify %+v", c.Notify)
	}
}
