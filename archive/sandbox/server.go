package sandbox

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// Options configure a Server. Zero values are documented per field.
type Options struct {
	// Dir holds what was received: files, their metadata and accepted conversations. It is
	// created if missing, and New reloads what an earlier Server stored there. Required.
	Dir string
	// Memory keeps what the Global Relay emulator receives in memory only: each body is
	// hashed as it arrives and dropped, its record and every accepted conversation live until
	// the process ends, and nothing is written to Dir for them (the forwarding emulators still
	// use Dir). It makes the sandbox a sink that is not the bottleneck, for benchmarks.
	Memory bool
	// Unhashed, with Memory, reads each body to its end and drops it without hashing it (the
	// record's SHA-256 stays empty): the sink at the speed of a server that reads and
	// discards, to show what the client costs when the archive's own hashing is not the
	// bottleneck (it caps the hashing store near the speed of SHA-256).
	Unhashed bool
	// Credentials is the Basic credential string the token endpoint accepts. Empty means
	// any non-empty credential is accepted.
	Credentials string
	// ConversationType is the conversationType every request must carry. Empty means any
	// non-empty value is accepted.
	ConversationType string
	// TokenTTL is the lifetime of an issued token. Zero means 1h.
	TokenTTL time.Duration
	// TokenTTLAsNumber sends expires_in as a JSON number; by default it is a string of whole
	// seconds, as in Global Relay's example.
	TokenTTLAsNumber bool
	// MaxFileSize is the largest file accepted, inclusive. Zero means 1<<30 ("1.0 GB").
	MaxFileSize int64
	// MaxRequestBytes is the largest /conversations body accepted. Zero means 3.5 MB.
	MaxRequestBytes int64
	// Faults are injected from the start; see SetFaults.
	Faults Faults

	// SalesforcePublicKey verifies the signature of JWT bearer assertions at
	// /services/oauth2/token. Nil means any well-formed RS256 assertion is accepted.
	SalesforcePublicKey *rsa.PublicKey
	// SalesforceClientID, SalesforceUsername and SalesforceAudience are the only iss, sub
	// and aud an assertion may carry. Empty means any non-empty value.
	SalesforceClientID string
	SalesforceUsername string
	SalesforceAudience string
	// GenesysUser and GenesysPassword are the only Basic credentials the Genesys API
	// accepts. Empty means any non-empty user and password.
	GenesysUser     string
	GenesysPassword string
	// TalkdeskClientID and TalkdeskClientSecret are the only client credentials the
	// Talkdesk token endpoint accepts. Empty means any non-empty pair.
	TalkdeskClientID     string
	TalkdeskClientSecret string
	// Logger receives one line per accepted or rejected request. Nil means discard.
	Logger logrus.FieldLogger
}

const (
	defaultTokenTTL        = time.Hour
	defaultMaxFileSize     = 1 << 30
	defaultMaxRequestBytes = 3_500_000
)

// Server is the emulator. It is an http.Handler; Start serves it on an address.
type Server struct {
	opts   Options
	log    logrus.FieldLogger
	store  *store
	routes []route

	mu     sync.Mutex
	faults Faults
	stats  Stats
	tokens map[string]time.Time // token -> expiry
	fails  int                  // alternates injected 500 and 503

	// The forwarding destinations' emulators (salesforce.go, genesys.go, talkdesk.go).
	sf *sfEmulator
	gn *gnEmulator
	td *tdEmulator
}

// Stats count requests since New (they are not persisted).
type Stats struct {
	TokenRequests  int `json:"tokenRequests"`  // requests that reached the token endpoint
	TokensIssued   int `json:"tokensIssued"`   // tokens handed out
	Puts           int `json:"puts"`           // files stored (new or replaced)
	PutsRejected   int `json:"putsRejected"`   // PUTs answered 4xx (401 included)
	Posts          int `json:"posts"`          // conversation requests accepted
	PostsRejected  int `json:"postsRejected"`  // conversation requests answered 4xx (401 included)
	Unauthorized   int `json:"unauthorized"`   // 401 answers, any endpoint
	FaultsInjected int `json:"faultsInjected"` // requests that met an injected fault

	SalesforceTokens           int `json:"salesforceTokens"`           // Salesforce access tokens issued
	SalesforceInteractions     int `json:"salesforceInteractions"`     // AttachmentInteractions accepted
	SalesforceDeliveryFailures int `json:"salesforceDeliveryFailures"` // MessageDeliveryFailed entries accepted
	SalesforceRejected         int `json:"salesforceRejected"`         // Salesforce requests refused (token and 401 included)
	GenesysUploads             int `json:"genesysUploads"`             // attachments stored
	GenesysShares              int `json:"genesysShares"`              // UploadFile operations accepted
	GenesysRejected            int `json:"genesysRejected"`            // Genesys requests refused (401 included)
	TalkdeskTokens             int `json:"talkdeskTokens"`             // Talkdesk tokens issued
	TalkdeskLinks              int `json:"talkdeskLinks"`              // upload links issued
	TalkdeskPuts               int `json:"talkdeskPuts"`               // uploads stored through a link
	TalkdeskAttachments        int `json:"talkdeskAttachments"`        // attachments created
	TalkdeskRejected           int `json:"talkdeskRejected"`           // Talkdesk requests refused (token, 401 and 409 included)
}

// New opens (or creates) o.Dir, reloads what it holds and returns a Server.
func New(o Options) (*Server, error) {
	if o.Dir == "" {
		return nil, errors.New("sandbox: no directory")
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = defaultTokenTTL
	}
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = defaultMaxFileSize
	}
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = defaultMaxRequestBytes
	}
	log := o.Logger
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = l
	}
	st, err := openStore(o.Dir, o.Memory, o.Unhashed)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	s := &Server{
		opts:   o,
		log:    log,
		store:  st,
		faults: o.Faults,
		tokens: make(map[string]time.Time),
	}
	if err := s.openForwardEmulators(); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	s.routes = append(s.routes, s.globalRelayRoutes()...)
	s.routes = append(s.routes, s.salesforceRoutes()...)
	s.routes = append(s.routes, s.genesysRoutes()...)
	s.routes = append(s.routes, s.talkdeskRoutes()...)
	s.routes = append(s.routes, s.adminRoutes()...)
	n, c := st.counts()
	log.WithFields(logrus.Fields{"files": n, "conversations": c}).Debug("sandbox: state loaded")
	return s, nil
}

// faultScope says which injected faults a route can meet.
type faultScope int

const (
	noFaults    faultScope = iota // admin routes
	apiFaults                     // uploads and posts
	tokenFaults                   // token endpoints: only with Faults.TokenToo
)

// route is one endpoint. Paths are matched on the raw request path, never cleaned: a
// strict emulator must see "..", "//" and encoded slashes as the client sent them.
type route struct {
	method  string
	path    string
	prefix  bool // path is a prefix ending in "/"
	faults  faultScope
	handler http.HandlerFunc
}

// ServeHTTP routes r to the API it addresses.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	var allowed []string
	for _, rt := range s.routes {
		if rt.path != path && !(rt.prefix && strings.HasPrefix(path, rt.path)) {
			continue
		}
		if rt.method != r.Method {
			allowed = append(allowed, rt.method)
			continue
		}
		if s.injectFault(w, r, rt.faults) {
			return
		}
		rt.handler(w, r)
		return
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed",
			fmt.Sprintf("%s %s: method not allowed, want %s", r.Method, path, strings.Join(allowed, " or ")))
		return
	}
	writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("%s: no such endpoint", path))
}

// Start serves s on addr (e.g. "127.0.0.1:0") until ctx is done and returns the base URL,
// e.g. "http://127.0.0.1:43123". The Global Relay API is then at base+"/v2" and its token
// endpoint at base+"/oauth2/token". The forwarding emulators are at the same base URL:
// Salesforce at /api/v1/interactions (token /services/oauth2/token), Genesys at
// /api/v2/me/..., Talkdesk at /attachments/2023-03 (token /oauth/token).
func (s *Server) Start(ctx context.Context, addr string) (baseURL string, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.WithError(err).Error("sandbox: serve")
		}
	}()
	go func() {
		<-ctx.Done()
		shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutCtx); err != nil {
			_ = srv.Close()
		}
	}()
	return "http://" + ln.Addr().String(), nil
}

// SetFaults replaces the faults injected from now on.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Faults returns the faults currently injected.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// Stats returns the request counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Files returns every stored file, sorted by Key.
func (s *Server) Files() []File { return s.store.files() }

// File returns the stored file under key.
func (s *Server) File(key string) (File, bool) { return s.store.file(key) }

// FilePath returns where the bytes of key are (or would be) on disk, "" for a key the
// sandbox would refuse.
func (s *Server) FilePath(key string) string {
	if _, err := parseFileKey(key); err != nil {
		return ""
	}
	return s.store.filePath(key)
}

// Conversations returns the accepted conversation requests in arrival order.
func (s *Server) Conversations() []Conversation { return s.store.conversations(0) }

// ConversationsAfter returns the accepted conversation requests whose Seq is above seq, in
// arrival order: what a poller that has seen up to seq has not seen yet.
func (s *Server) ConversationsAfter(seq int) []Conversation { return s.store.conversations(seq) }

// RevokeTokens forgets every issued token, as if they had all expired: the next API request
// with one is answered 401. A hook for tests of token renewal.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	clear(s.tokens)
	s.mu.Unlock()
	s.sf.revokeTokens()
	s.td.revokeTokens()
}

func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// apiError is the body of every rejection.
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Error: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"internal","message":"cannot encode answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
