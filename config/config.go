package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration of the daemon, as read from one YAML file.
//
// To add a key: add the field with its yaml tag, its default in the type's setDefaults
// method, its check in the type's validate method. Decoding, unknown-key detection and
// error paths need no change.
type Config struct {
	File            string      `yaml:"-"`                // absolute path of the loaded file ("" if Parse'd from a reader)
	Journal         string      `yaml:"journal"`          // required; path of the bbolt file; relative -> against config dir
	Workers         int         `yaml:"workers"`          // default 4; 1..256
	ShutdownTimeout Duration    `yaml:"shutdown_timeout"` // default 30s; how long SIGTERM waits for in-flight work
	Log             Log         `yaml:"log"`
	GlobalRelay     GlobalRelay `yaml:"globalrelay"`
	Retry           Retry       `yaml:"retry"`
	Watches         []Watch     `yaml:"watches"` // at least one
	// Destinations are where watches forward files to, by name ([a-z0-9-]+). Optional.
	Destinations map[string]Destination `yaml:"destinations"`
	Control      Control                `yaml:"control"`
	Reconcile    Reconcile              `yaml:"reconcile"`
	Metrics      Metrics                `yaml:"metrics"`
	StatusPage   StatusPage             `yaml:"status_page"`
	Notify       Notify                 `yaml:"notify"`
	DailyReport  DailyReport            `yaml:"daily_report"`
	// Identities is the identity directory of the transcript formats (a CSV file with the
	// header source,id,email,name; relative -> against config dir). Optional. Validate checks
	// that it is a regular file; its content is checked by the daemon and check-config, which
	// load it (SIGHUP reloads it).
	Identities string `yaml:"identities"`
	// AuditRetentionDays is how long audit detail (failed attempts and waits of files whose
	// work is over) is kept: `archivist journal compact` removes what is older. 0 (default)
	// keeps it forever. The daemon applies it every night. Records and the entries of the
	// steps that succeeded stay forever.
	AuditRetentionDays int `yaml:"audit_retention_days"`
	// Warnings are non-fatal findings for the caller to log, such as a credentials file
	// that group or others can read. Validate recomputes them.
	Warnings []string `yaml:"-"`
	// noSecrets makes Validate leave the secret files alone (LoadWithoutSecrets).
	noSecrets bool
}

// Control configures the control socket the commands talk to.
type Control struct {
	// Socket is the unix socket's path. Default: $RUNTIME_DIRECTORY/control.sock under
	// systemd, /run/archivist/control.sock if that folder exists, else control.sock next to
	// the journal.
	Socket string `yaml:"socket"`
}

// Reconcile schedules the reconciliation that proves everything on disk reached the archive.
type Reconcile struct {
	Schedule   string   `yaml:"schedule"`    // cron spec (5 fields or @hourly/@daily/@every 30m); default "@hourly"; "off" disables
	Timezone   string   `yaml:"timezone"`    // IANA zone of the schedule; default the machine's local time
	StaleAfter Duration `yaml:"stale_after"` // pending longer than this is reported stale; default 1h
	// VerifyFiles is how many archived files each scheduled reconciliation reads again, chosen
	// at random, to compare their SHA-256 with the archived one; default 0 (none).
	VerifyFiles int `yaml:"verify_files"`
}

// Metrics configures the optional Prometheus endpoint on TCP (it is always on the control
// socket at /metrics).
type Metrics struct {
	Listen string `yaml:"listen"` // e.g. 127.0.0.1:9464; empty (default) means the socket only
}

// Log configures the daemon's own log output.
type Log struct {
	Format string `yaml:"format"` // "auto" (default: text on a terminal, JSON otherwise) | "text" | "json"
	Level  string `yaml:"level"`  // default "info"; must be a logrus level name
}

// GlobalRelay configures the Global Relay Conversation Archiving API client.
type GlobalRelay struct {
	URL                 string   `yaml:"url"`                    // required; absolute http(s) URL; trailing "/" trimmed
	TokenURL            string   `yaml:"token_url"`              // required; absolute http(s) URL
	CredentialsFile     string   `yaml:"credentials_file"`       // required; relative -> against config dir; read at load time
	Credentials         Secret   `yaml:"-"`                      // file content with surrounding whitespace trimmed; empty content is an error
	ConversationType    string   `yaml:"conversation_type"`      // required
	ResponseTimeout     Duration `yaml:"response_timeout"`       // default 2m: wait for response headers after the request body was sent
	InsecureSkipVerify  bool     `yaml:"insecure_skip_verify"`   // default false; testing only
	MaxFileSize         int64    `yaml:"max_file_size"`          // default 1073741824 (1.0 GB); 1..1073741824
	MaxEventsPerRequest int      `yaml:"max_events_per_request"` // default 100; 1..1000
	MaxRequestBytes     int      `yaml:"max_request_bytes"`      // default 1000000; 4096..3500000
}

// Retry bounds the delay between attempts of a failed remote call.
type Retry struct {
	MinDelay Duration `yaml:"min_delay"` // default 1s, > 0
	MaxDelay Duration `yaml:"max_delay"` // default 5m, >= min_delay
}

// Watch is one watched folder and the identity its files are archived under.
type Watch struct {
	Name         string   `yaml:"name"`          // required, ^[a-z0-9-]+$, at most 64 chars, unique across watches
	Path         string   `yaml:"path"`          // required; relative -> against config dir; absolute and clean after Parse; must be an existing directory
	Settle       Duration `yaml:"settle"`        // default 5s; must be > 0
	ScanInterval Duration `yaml:"scan_interval"` // default 1m; an explicit 0 turns periodic scanning off; negative is an error
	Sender       Sender   `yaml:"sender"`        // required: name and email both non-empty; email must contain "@"
	Ignore       []string `yaml:"ignore"`        // path.Match patterns on base names; absent -> DefaultIgnore; an explicit list replaces it
	InlineImages bool     `yaml:"inline_images"` // default true
	// Forward names the destinations this watch's files are also forwarded to; each must
	// be a key of destinations, at most once. Empty (the default) forwards nothing.
	Forward []string `yaml:"forward"`
	// Mode is "files" (default: every file is a loose file) or "transcripts" (transcripts
	// drive the work; see docs/transcript-format.md).
	Mode string `yaml:"mode"`
	// AttachmentWait is how long a transcript waits for its attachments before it is held
	// with the list of missing files; default 10m.
	AttachmentWait Duration `yaml:"attachment_wait"`
	// UnreferencedAfter is how long a file of a transcripts watch waits for a transcript to
	// reference it before it is archived as a loose file (and flagged); default 1h.
	UnreferencedAfter Duration `yaml:"unreferenced_after"`
	// After is what happens to a file once it is archived and forwarded everywhere: "keep"
	// (default), "move" (into DoneDir, keeping its relative path) or "delete".
	After string `yaml:"after"`
	// DoneDir is where after: move puts files; default "<path>.done" beside the watch folder.
	// It must not be inside the watch.
	DoneDir string `yaml:"done_dir"`
	// Retention delays move or delete until the file was archived this long ago; default 0.
	Retention Duration `yaml:"retention"`
	// Timezone is the IANA zone of the local times in chat exports that carry no zone
	// (WhatsApp); Location is it loaded (nil when not set).
	Timezone string         `yaml:"timezone"`
	Location *time.Location `yaml:"-"`
	// DateOrder settles the day/month order of WhatsApp dates that cannot be inferred from
	// the file: "dmy", "mdy" or "ymd"; empty infers it. It requires Timezone.
	DateOrder string `yaml:"date_order"`
}

// Sender is the person or system a watch's files are archived as coming from.
type Sender struct {
	Name  string `yaml:"name"`
	Email string `yaml:"email"`
}

// DefaultIgnore is the ignore list of a watch that does not set one: hidden files and the
// temporary names that browsers, editors and copy tools write before the final rename.
var DefaultIgnore = []string{".*", "*.part", "*.tmp", "*.crdownload", "~$*"}

// Limits fixed by the Global Relay API or chosen to stay well inside it.
const (
	maxFileSize     = 1 << 30 // 1.0 GB: Global Relay answers 400 above it
	maxWatchNameLen = 64
)

func (c *Config) setDefaults() {
	c.Workers = 4
	c.ShutdownTimeout = Duration(30 * time.Second)
}

func (l *Log) setDefaults() {
	l.Format = "auto"
	l.Level = "info"
}

func (g *GlobalRelay) setDefaults() {
	g.ResponseTimeout = Duration(2 * time.Minute)
	g.MaxFileSize = maxFileSize
	g.MaxEventsPerRequest = 100
	g.MaxRequestBytes = 1_000_000
}

func (r *Retry) setDefaults() {
	r.MinDelay = Duration(time.Second)
	r.MaxDelay = Duration(5 * time.Minute)
}

func (r *Reconcile) setDefaults() {
	r.Schedule = "@hourly"
	r.StaleAfter = Duration(time.Hour)
}

func (w *Watch) setDefaults() {
	w.Mode = "files"
	w.AttachmentWait = Duration(10 * time.Minute)
	w.UnreferencedAfter = Duration(time.Hour)
	w.After = "keep"
	w.Settle = Duration(5 * time.Second)
	w.ScanInterval = Duration(time.Minute)
	w.Ignore = slices.Clone(DefaultIgnore)
	w.InlineImages = true
}

// Load reads the YAML file at path and returns the validated configuration. Relative paths
// in it are resolved against the file's folder. Every line of the returned error starts
// with "config <path>: ", and there is one line per problem found.
func Load(path string) (*Config, error) { return load(path, false) }

// LoadWithoutSecrets is Load for commands that only read (status, queue, show, report): the
// secret files (credentials, keys, passwords) are neither read nor checked, so that an
// operator who may look but not read the credentials can; their fields stay empty.
func LoadWithoutSecrets(path string) (*Config, error) { return load(path, true) }

func load(path string, noSecrets bool) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	defer f.Close()
	c, err := parse(f, filepath.Dir(abs), noSecrets)
	if err != nil {
		return nil, prefixEach(path, err)
	}
	c.File = abs
	return c, nil
}

// Parse decodes one YAML document from r, rejects unknown keys, applies defaults, resolves
// relative paths against dir (the current directory if dir is "") and validates the result.
// On failure it returns every problem it found, joined with errors.Join; each problem that
// concerns a key is a *KeyError.
//
// A key with a null value ("settle:" or "settle: ~") counts as absent: it keeps its default.
func Parse(r io.Reader, dir string) (*Config, error) { return parse(r, dir, false) }

func parse(r io.Reader, dir string, noSecrets bool) (*Config, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	root, err := parseDocument(r)
	if err != nil {
		return nil, err
	}
	c := &Config{noSecrets: noSecrets}
	v := reflect.ValueOf(c).Elem()
	errs := decodeValue(root, v)
	c.resolve(dir)
	if err := c.Validate(); err != nil {
		errs = append(errs, unjoin(err)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// parseDocument returns the root node of the only YAML document in r, which must be a
// mapping.
func parseDocument(r io.Reader) (*yaml.Node, error) {
	dec := yaml.NewDecoder(r)
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errEmpty
		}
		return nil, err
	}
	// A second document would be ignored by a reader that stops at the first, so it is
	// refused; an empty one, as left by a trailing "---", is harmless.
	for {
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(extra.Content) == 1 && !isNull(resolveAlias(extra.Content[0])) {
			return nil, fmt.Errorf("line %d: a second YAML document starts here; the config must be a single document", extra.Line)
		}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	root = resolveAlias(root)
	if isNull(root) {
		return nil, errEmpty
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: the config must be a mapping of keys to values, got %s", root.Line, describeNode(root))
	}
	return root, nil
}

var errEmpty = errors.New("the config is empty; it needs at least journal, globalrelay and watches")

// resolve makes the file paths absolute against dir and normalizes values that have
// more than one spelling.
func (c *Config) resolve(dir string) {
	c.Journal = resolvePath(dir, c.Journal)
	c.Identities = resolvePath(dir, c.Identities)
	c.GlobalRelay.CredentialsFile = resolvePath(dir, c.GlobalRelay.CredentialsFile)
	if c.Control.Socket != "" {
		c.Control.Socket = resolvePath(dir, c.Control.Socket)
	}
	c.GlobalRelay.URL = strings.TrimRight(c.GlobalRelay.URL, "/")
	for i := range c.Watches {
		c.Watches[i].Path = resolvePath(dir, c.Watches[i].Path)
		if w := &c.Watches[i]; w.DoneDir != "" {
			w.DoneDir = resolvePath(dir, w.DoneDir)
		} else if w.Path != "" {
			w.DoneDir = w.Path + ".done"
		}
	}
	c.StatusPage.resolve(dir)
	c.Notify.resolve(dir)
	c.DailyReport.resolve(dir)
	for name, d := range c.Destinations {
		d.resolve(dir)
		c.Destinations[name] = d
	}
}

func resolvePath(dir, p string) string {
	if p == "" {
		return ""
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	return filepath.Clean(p)
}

// WatchByName returns the watch called name. The pointer refers into c.Watches.
func (c *Config) WatchByName(name string) (*Watch, bool) {
	for i := range c.Watches {
		if c.Watches[i].Name == name {
			return &c.Watches[i], true
		}
	}
	return nil, false
}

// unjoin returns the errors that errors.Join combined into err, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// prefixEach puts "config <path>: " in front of every problem in err, so that each line
// of the message says which file it is about.
func prefixEach(path string, err error) error {
	var errs []error
	for _, e := range unjoin(err) {
		errs = append(errs, fmt.Errorf("config %s: %w", path, e))
	}
	return errors.Join(errs...)
}

// AuditCutoff is the time before which audit detail may be removed (AuditRetentionDays
// before now), or the zero time when it is kept forever.
func (c *Config) AuditCutoff(now time.Time) time.Time {
	if c.AuditRetentionDays <= 0 {
		return time.Time{}
	}
	return now.AddDate(0, 0, -c.AuditRetentionDays)
}
