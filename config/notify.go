package config

import (
	"net/url"
	"strings"
	"time"
)

// Notify configures the notification webhook (off unless WebhookURL is set): a JSON POST
// when a file is held, when reconciliation finds unexplained files, and when a destination
// has been down longer than DownAfter.
type Notify struct {
	WebhookURL string   `yaml:"webhook_url"` // http(s); no user info (put a token in secret_file)
	SecretFile string   `yaml:"secret_file"` // optional: HMAC-SHA256 key for the X-Archivist-Signature header
	DownAfter  Duration `yaml:"down_after"`  // default 15m
	Secret     Secret   `yaml:"-"`
}

func (n *Notify) resolve(dir string) { n.SecretFile = resolvePath(dir, n.SecretFile) }

func (n *Notify) validate(p *problems, key string) {
	if n.WebhookURL == "" {
		if n.SecretFile != "" {
			p.add(key+".secret_file", "set, but there is no %s.webhook_url", key)
		}
		return
	}
	u, err := url.Parse(n.WebhookURL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		p.add(key+".webhook_url", "not an http(s) URL with a host")
	case u.User != nil:
		p.add(key+".webhook_url", "must not hold user info (credentials in a URL end up in logs); use %s.secret_file", key)
	}
	switch {
	case n.DownAfter == 0:
		n.DownAfter = Duration(15 * time.Minute) // the default, set only when notifications are on
	case n.DownAfter < 0:
		p.add(key+".down_after", "must be greater than 0, got %v", n.DownAfter)
	}
	if n.SecretFile != "" {
		if b, ok := readPrivateFile(p, key+".secret_file", n.SecretFile); ok {
			n.Secret = Secret(strings.TrimSpace(string(b)))
		}
	}
}
