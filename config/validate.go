package config

import (
	"cmp"
	"net"
	"time"

	"errors"
	"fmt"
	"github.com/robfig/cron/v3"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"
)

// maxCredentialsSize bounds the credentials file: a credential is a short string, so a
// bigger file is the wrong file.
const maxCredentialsSize = 64 << 10

var watchNameRE = regexp.MustCompile(`^[a-z0-9-]+$`)

// problems collects what Validate finds, so that it reports everything at once.
type problems struct {
	errs      []error
	warnings  []string
	noSecrets bool // leave the secret files alone: see LoadWithoutSecrets
}

func (p *problems) add(key, format string, args ...any) {
	p.errs = append(p.errs, &KeyError{Key: key, Err: fmt.Errorf(format, args...)})
}

func (p *problems) wrap(key string, err error) {
	p.errs = append(p.errs, &KeyError{Key: key, Err: err})
}

func (p *problems) warn(key, format string, args ...any) {
	p.warnings = append(p.warnings, key+": "+fmt.Sprintf(format, args...))
}

func checkRange[T cmp.Ordered](p *problems, key string, v, lo, hi T) {
	if v < lo || v > hi {
		p.add(key, "must be between %v and %v, got %v", lo, hi, v)
	}
}

// Validate checks every value, including against the filesystem: watch folders must exist
// and the credentials file must be readable and not empty. It returns all problems, joined
// with errors.Join, each a *KeyError.
//
// Validate also loads GlobalRelay.Credentials from GlobalRelay.CredentialsFile, since
// checking the file means reading it, and recomputes Warnings. It does not apply defaults
// or resolve relative paths: Parse does that before calling it.
func (c *Config) Validate() error {
	p := &problems{noSecrets: c.noSecrets}
	if c.Journal == "" {
		p.add("journal", "required")
	}
	checkRange(p, "workers", c.Workers, 1, 256)
	if c.ShutdownTimeout < 0 {
		p.add("shutdown_timeout", "must not be negative, got %v", c.ShutdownTimeout)
	}
	checkRange(p, "audit_retention_days", c.AuditRetentionDays, 0, 36500)
	c.Log.validate(p, "log")
	c.GlobalRelay.validate(p, "globalrelay")
	c.Retry.validate(p, "retry")
	c.validateDestinations(p)
	c.validateWatches(p)
	c.validateOverlaps(p) // after the watches and destinations: it compares their paths
	c.Reconcile.validate(p, "reconcile")
	c.StatusPage.validate(p, "status_page")
	c.Notify.validate(p, "notify")
	c.DailyReport.validate(p, "daily_report")
	validateIdentities(p, "identities", c.Identities)
	if c.Metrics.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Metrics.Listen); err != nil {
			p.add("metrics.listen", "%q is not host:port: %v", c.Metrics.Listen, err)
		}
	}
	c.Warnings = p.warnings
	return errors.Join(p.errs...)
}

var logFormats = []string{"auto", "text", "json"}

func (l *Log) validate(p *problems, key string) {
	if !slices.Contains(logFormats, l.Format) {
		p.add(key+".format", "%q must be one of %s", l.Format, strings.Join(logFormats, ", "))
	}
	if _, err := logrus.ParseLevel(l.Level); err != nil {
		var names []string
		for _, lvl := range logrus.AllLevels {
			names = append(names, lvl.String())
		}
		p.add(key+".level", "%q must be one of %s", l.Level, strings.Join(names, ", "))
	}
}

func (g *GlobalRelay) validate(p *problems, key string) {
	checkURL(p, key+".url", g.URL, true)
	checkURL(p, key+".token_url", g.TokenURL, false)
	g.loadCredentials(p, key+".credentials_file")
	if g.ConversationType == "" {
		p.add(key+".conversation_type", "required")
	}
	if g.ResponseTimeout <= 0 {
		p.add(key+".response_timeout", "must be greater than 0, got %v", g.ResponseTimeout)
	}
	checkRange(p, key+".max_file_size", g.MaxFileSize, 1, maxFileSize)
	checkRange(p, key+".max_events_per_request", g.MaxEventsPerRequest, 1, 1000)
	checkRange(p, key+".max_request_bytes", g.MaxRequestBytes, 4096, 3_500_000)
}

// checkURL requires an absolute http(s) URL without credentials in it; base URLs, which
// paths are appended to, also may not carry a query or fragment. It is the one check of
// every configured endpoint: the clients trust it. Messages print the URL without its user
// info, since a user name or password in it must not reach the logs.
func checkURL(p *problems, key, raw string, base bool) {
	if raw == "" {
		p.add(key, "required")
		return
	}
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		p.add(key, "not a valid URL: %v", err)
		return
	}
	if u.User != nil {
		u.User = nil // neither the name nor the password reaches a message
		p.add(key, "%q must not contain a user name or password; credentials belong in the credentials file", u.String())
		return
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add(key, "%q must be an absolute http or https URL", raw)
		return
	}
	if base && (u.RawQuery != "" || u.Fragment != "") {
		p.add(key, "%q must not have a query or fragment", raw)
	}
}

// loadCredentials reads the credentials file into g.Credentials.
func (g *GlobalRelay) loadCredentials(p *problems, key string) {
	if s, ok := readSecretFile(p, key, g.CredentialsFile); ok {
		g.Credentials = Secret(s)
	}
}

// readSecretFile reads a file holding one secret (a credential, a password, a key) and
// returns its content with surrounding white space trimmed. It reports, under key, a
// missing name, a file that is missing, not regular, unreadable, too large or empty, and
// warns when group or others can read it.
func readSecretFile(p *problems, key, name string) (string, bool) {
	b, ok := readPrivateFile(p, key, name)
	if !ok {
		return "", false
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		p.add(key, "%q: file is empty", name)
		return "", false
	}
	return s, true
}

// readPrivateFile reads a small file that only its owner should be able to read; see
// readSecretFile. Under systemd, the copy LoadCredential= placed in $CREDENTIALS_DIRECTORY
// under the file's base name is read instead (see CredentialPath).
func readPrivateFile(p *problems, key, name string) ([]byte, bool) {
	if name == "" {
		p.add(key, "required")
		return nil, false
	}
	if p.noSecrets {
		return nil, false
	}
	name = CredentialPath(filepath.Base(name), name)
	// Stat first: opening a FIFO for reading would block until a writer appears.
	fi, err := os.Stat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.wrap(key, &causeError{fmt.Sprintf("%q: no such file", name), err})
		return nil, false
	case err != nil:
		p.wrap(key, err)
		return nil, false
	case !fi.Mode().IsRegular():
		p.add(key, "%q: not a regular file", name)
		return nil, false
	}
	f, err := os.Open(name)
	if err != nil {
		p.wrap(key, err)
		return nil, false
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		p.wrap(key, err)
		return nil, false
	}
	b, err := io.ReadAll(io.LimitReader(f, maxCredentialsSize+1))
	if err != nil {
		p.wrap(key, err)
		return nil, false
	}
	if len(b) > maxCredentialsSize {
		p.add(key, "%q: larger than %d KiB; a credential is a short string, is this the right file?", name, maxCredentialsSize>>10)
		return nil, false
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		p.warn(key, "%s is readable by group or others (mode %04o); chmod 600 it", name, perm)
	}
	return b, true
}

func (r *Retry) validate(p *problems, key string) {
	if r.MinDelay <= 0 {
		p.add(key+".min_delay", "must be greater than 0, got %v", r.MinDelay)
	}
	if r.MaxDelay < r.MinDelay {
		p.add(key+".max_delay", "must be at least %s.min_delay (%v), got %v", key, r.MinDelay, r.MaxDelay)
	}
}

func (c *Config) validateWatches(p *problems) {
	if len(c.Watches) == 0 {
		p.add("watches", "at least one watch is required")
		return
	}
	first := make(map[string]int) // watch name -> index of its first use
	for i := range c.Watches {
		w := &c.Watches[i]
		key := fmt.Sprintf("watches[%d]", i)
		w.validate(p, key)
		c.validateForward(p, key, w)
		if w.Name == "" {
			continue
		}
		if j, dup := first[w.Name]; dup {
			p.add(key+".name", "duplicate watch name %q (also watches[%d])", w.Name, j)
			continue
		}
		first[w.Name] = i
	}
}

// isWithin reports whether path sub is below dir; both are clean and absolute.
func isWithin(dir, sub string) bool {
	rel, err := filepath.Rel(dir, sub)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func (r *Reconcile) validate(p *problems, key string) {
	if r.Timezone != "" {
		if _, err := time.LoadLocation(r.Timezone); err != nil {
			p.add(key+".timezone", "%q: %v", r.Timezone, err)
		}
	}
	if r.Schedule != "off" {
		if _, err := cron.ParseStandard(r.Schedule); err != nil {
			p.add(key+".schedule", "%q is not a cron schedule: %v", r.Schedule, err)
		}
	}
	if r.StaleAfter <= 0 {
		p.add(key+".stale_after", "must be greater than 0, got %v", r.StaleAfter)
	}
	if r.VerifyFiles < 0 {
		p.add(key+".verify_files", "must be 0 (none) or a number of files, got %d", r.VerifyFiles)
	}
}

func (w *Watch) validate(p *problems, key string) {
	switch w.Mode {
	case "files", "transcripts":
	default:
		p.add(key+".mode", "%q: want files or transcripts", w.Mode)
	}
	if w.AttachmentWait <= 0 {
		p.add(key+".attachment_wait", "must be greater than 0, got %v", w.AttachmentWait)
	}
	if w.UnreferencedAfter <= 0 {
		p.add(key+".unreferenced_after", "must be greater than 0, got %v", w.UnreferencedAfter)
	}
	switch w.After {
	case "keep", "move", "delete":
	default:
		p.add(key+".after", "%q: want keep, move or delete", w.After)
	}
	if w.Retention < 0 {
		p.add(key+".retention", "must not be negative, got %v", w.Retention)
	}
	w.validateChatClock(p, key)
	w.validateNameAndPath(p, key)
	if w.Settle <= 0 {
		p.add(key+".settle", "must be greater than 0, got %v", w.Settle)
	}
	if w.ScanInterval < 0 {
		p.add(key+".scan_interval", "must not be negative (0 turns periodic scans off), got %v", w.ScanInterval)
	}
	if w.Sender.Name == "" {
		p.add(key+".sender.name", "required")
	}
	switch {
	case w.Sender.Email == "":
		p.add(key+".sender.email", "required")
	case !strings.Contains(w.Sender.Email, "@"):
		p.add(key+".sender.email", "%q is not an email address (no \"@\")", w.Sender.Email)
	}
	w.validateIgnore(p, key)
}

// validateNameAndPath checks the watch's name and that its path is a directory.
func (w *Watch) validateNameAndPath(p *problems, key string) {
	switch {
	case w.Name == "":
		p.add(key+".name", "required")
	case !watchNameRE.MatchString(w.Name):
		p.add(key+".name", "%q must match [a-z0-9-]+", w.Name)
	case len(w.Name) > maxWatchNameLen:
		p.add(key+".name", "%q is longer than %d characters", w.Name, maxWatchNameLen)
	}
	if w.Path == "" {
		p.add(key+".path", "required")
	} else if fi, err := os.Stat(w.Path); errors.Is(err, fs.ErrNotExist) {
		p.wrap(key+".path", &causeError{fmt.Sprintf("%q: no such directory", w.Path), err})
	} else if err != nil {
		p.wrap(key+".path", err)
	} else if !fi.IsDir() {
		p.add(key+".path", "%q: not a directory", w.Path)
	}
}

// validateIgnore checks the ignore patterns: base-name patterns of path.Match.
func (w *Watch) validateIgnore(p *problems, key string) {
	for i, pattern := range w.Ignore {
		k := fmt.Sprintf("%s.ignore[%d]", key, i)
		switch {
		case pattern == "":
			p.add(k, "empty pattern")
		case strings.Contains(pattern, "/"):
			p.add(k, "%q contains \"/\", but patterns match base names only", pattern)
		default:
			if _, err := path.Match(pattern, ""); err != nil {
				p.add(k, "%q is not a valid pattern: %v", pattern, err)
			}
		}
	}
}

// causeError replaces the message of err, which repeats what the key's message says,
// while keeping it for errors.Is.
type causeError struct {
	msg string
	err error
}

func (e *causeError) Error() string { return e.msg }
func (e *causeError) Unwrap() error { return e.err }

// CredentialPath resolves a secret file for systemd's LoadCredential=: if $CREDENTIALS_DIRECTORY is set and contains name
// (the base name given to LoadCredential=), that path; else fallback.
//
// A name that is not a plain base name always yields fallback. When the entry exists but
// cannot be examined (say, the directory is not readable), the credential path is returned
// anyway, so that reading it fails loudly instead of falling back to a file the unit meant to
// replace.
func CredentialPath(name, fallback string) string {
	dir := os.Getenv("CREDENTIALS_DIRECTORY")
	if dir == "" || name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return fallback
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return fallback
	}
	return p
}

// validateIdentities checks that the identity directory, if configured, is a regular file.
// Its rows are checked where it is loaded (the identity package), which config may not import.
func validateIdentities(p *problems, key, name string) {
	if name == "" {
		return
	}
	fi, err := os.Stat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.wrap(key, &causeError{fmt.Sprintf("%q: no such file", name), err})
	case err != nil:
		p.wrap(key, err)
	case !fi.Mode().IsRegular():
		p.add(key, "%q: not a regular file", name)
	}
}

// dateOrders are the values of date_order (the WhatsApp reader's ParseDateOrder accepts them).
var dateOrders = []string{"dmy", "mdy", "ymd"}

// validateChatClock checks timezone and date_order, and loads Location.
func (w *Watch) validateChatClock(p *problems, key string) {
	w.Location = nil
	if w.Timezone == "" && w.Mode == "transcripts" {
		p.warn(key+".timezone", "not set: a WhatsApp export dropped here is held until it is, since its times "+
			"carry no zone (Slack and Teams exports and native transcripts do not need it)")
	}
	if w.Timezone != "" {
		loc, err := time.LoadLocation(w.Timezone)
		if err != nil {
			p.add(key+".timezone", "%q is not an IANA time zone: %v", w.Timezone, err)
		} else {
			w.Location = loc
		}
	}
	if w.DateOrder == "" {
		return
	}
	if !slices.Contains(dateOrders, w.DateOrder) {
		p.add(key+".date_order", "%q: want dmy, mdy or ymd", w.DateOrder)
	}
	if w.Timezone == "" {
		p.add(key+".date_order", "requires %s.timezone: the local times of the export need their zone", key)
	}
}
