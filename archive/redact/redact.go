// Package redact is the one place that knows every secret of the process and removes it
// from text that came from a remote party or is about to be stored or printed. Clients feed
// it what they are configured with (credentials, client secrets, private keys) and package
// oauth feeds it every token issued; package failure runs every remote error body through it
// before the body becomes part of an error, and the daemon's logger runs every log line
// through it.
//
// Each secret is registered with the forms a remote party might echo it in: as is,
// URL-escaped and JSON-escaped; a Basic credential also with its base64 decoding and the
// secret part of its "user:secret" pair.
package redact

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Mask replaces every secret.
const Mask = "[redacted]"

const (
	// minSecret is the shortest configured secret that is masked: a shorter one would mask
	// ordinary words.
	minSecret = 4
	// minPart is the shortest part of a "user:secret" pair that is masked on its own.
	minPart = 8
	// maxIssued is how many issued tokens are remembered: tokens expire, so the oldest are
	// forgotten rather than growing the set for as long as the daemon runs.
	maxIssued = 256
)

// Redactor masks registered secrets. The zero value is not usable; use New.
type Redactor struct {
	mu     sync.RWMutex
	static map[string]bool // configured secrets, every form
	issued []issued        // issued tokens, oldest first
	rep    *strings.Replacer
}

type issued struct {
	token string
	forms []string
}

// New returns an empty Redactor.
func New() *Redactor { return &Redactor{static: map[string]bool{}} }

// Default is the process's redactor: every client and token source registers with it.
var Default = New()

// Secret registers a configured secret (a client secret, a password) on Default.
func Secret(s string) { Default.Secret(s) }

// Credential registers a Basic credential (base64 of "user:secret") on Default.
func Credential(s string) { Default.Credential(s) }

// Issued registers a token issued to this process (access, refresh or id token, or a signed
// assertion) on Default.
func Issued(tok string) { Default.Issued(tok) }

// String masks every secret Default knows in s.
func String(s string) string { return Default.String(s) }

// Secret registers s in every form.
func (r *Redactor) Secret(s string) {
	s = strings.TrimSpace(s)
	if len(s) < minSecret {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	added := false
	for _, f := range forms(s) {
		if !r.static[f] {
			r.static[f], added = true, true
		}
	}
	if added {
		r.rebuild()
	}
}

// Credential registers a credential that may be the base64 of "user:secret" (Global
// Relay's credential string, a Basic header value): the string itself, its decoding when it
// decodes, and the secret part of the pair. The user part (a client id) is not a secret.
func (r *Redactor) Credential(s string) {
	s = strings.TrimSpace(s)
	r.Secret(s)
	pair := s
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && utf8.Valid(b) {
			r.Secret(string(b))
			pair = string(b)
			break
		}
	}
	if _, secret, ok := strings.Cut(pair, ":"); ok && len(secret) >= minPart {
		r.Secret(secret)
	}
}

// PrivateKey registers the material of a PEM private key: its base64 body whole and line
// by line, and the base64 of its PKCS#1 and PKCS#8 encodings as they are written to a file.
func (r *Redactor) PrivateKey(pemText []byte, der ...[]byte) {
	var body []string
	inBlock := false
	for l := range strings.SplitSeq(string(pemText), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "-----BEGIN"):
			inBlock = true
		case strings.HasPrefix(l, "-----END"):
			inBlock = false
		case inBlock && len(l) >= minPart && !strings.Contains(l, ":"): // not a header
			body = append(body, l)
		}
	}
	wholes := []string{strings.Join(body, "")}
	for _, d := range der {
		b64 := base64.StdEncoding.EncodeToString(d)
		wholes = append(wholes, b64)
		for ; len(b64) > 64; b64 = b64[64:] {
			body = append(body, b64[:64])
		}
		if len(b64) >= minPart {
			body = append(body, b64)
		}
	}
	for _, l := range append(body, wholes...) {
		r.Secret(l)
	}
}

// Issued registers a token. Only the last maxIssued tokens are kept.
func (r *Redactor) Issued(tok string) {
	tok = strings.TrimSpace(tok)
	if len(tok) < minPart {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, is := range r.issued {
		if is.token == tok {
			return
		}
	}
	r.issued = append(r.issued, issued{token: tok, forms: forms(tok)})
	if len(r.issued) > maxIssued {
		r.issued = slices.Delete(r.issued, 0, len(r.issued)-maxIssued)
	}
	r.rebuild()
}

// rebuild makes the replacer; the caller holds r.mu. Longer patterns come first, so a
// secret that contains another is masked whole.
func (r *Redactor) rebuild() {
	var pats []string
	for p := range r.static {
		pats = append(pats, p)
	}
	for _, is := range r.issued {
		pats = append(pats, is.forms...)
	}
	slices.SortFunc(pats, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	pats = slices.Compact(pats)
	args := make([]string, 0, 2*len(pats))
	for _, p := range pats {
		args = append(args, p, Mask)
	}
	r.rep = strings.NewReplacer(args...)
}

// String masks every registered secret in s.
func (r *Redactor) String(s string) string {
	r.mu.RLock()
	rep := r.rep
	r.mu.RUnlock()
	if rep == nil || s == "" {
		return s
	}
	return rep.Replace(s)
}

// Body turns the start of a remote body into text fit to store: read is what was read, more
// says whether the body went on past it. A secret cut by the end of read is dropped, every
// secret is masked, and the result is at most limit bytes (valid UTF-8, trimmed).
func (r *Redactor) Body(read []byte, more bool, limit int) string {
	s := strings.ToValidUTF8(string(read), "?")
	if more {
		s = r.dropCutSecret(s)
	}
	s = strings.TrimSpace(r.String(s))
	if len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// dropCutSecret removes the end of s if it is the start of a registered secret: what follows
// it was not read, so it cannot be recognised whole.
func (r *Redactor) dropCutSecret(s string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	cut := 0
	check := func(p string) {
		for k := min(len(p)-1, len(s)); k > cut; k-- {
			if strings.HasSuffix(s, p[:k]) {
				cut = k
				return
			}
		}
	}
	for p := range r.static {
		check(p)
	}
	for _, is := range r.issued {
		for _, p := range is.forms {
			check(p)
		}
	}
	return s[:len(s)-cut]
}

// Body is Default.Body.
func Body(read []byte, more bool, limit int) string { return Default.Body(read, more, limit) }

// PrivateKey registers key material on Default: the PEM text as read and the DER encodings.
func PrivateKey(pemText []byte, der ...[]byte) { Default.PrivateKey(pemText, der...) }

// hexEscape matches a percent escape, to make the lower-case variant of a URL-escaped form.
var hexEscape = regexp.MustCompile(`%[0-9A-F]{2}`)

// forms are the ways s may be echoed: as is, URL-escaped (query and path rules, upper- and
// lower-case hex), and JSON-escaped (with and without escaped slashes).
func forms(s string) []string {
	out := []string{s}
	for _, e := range []string{url.QueryEscape(s), url.PathEscape(s)} {
		out = append(out, e, hexEscape.ReplaceAllStringFunc(e, strings.ToLower))
	}
	if b, err := json.Marshal(s); err == nil {
		j := string(b[1 : len(b)-1])
		out = append(out, j, strings.ReplaceAll(j, "/", `\/`))
	}
	slices.Sort(out)
	return slices.Compact(out)
}
