package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const testCredentials = "client-id:client-secret"

// newConfigDir makes a folder holding what the fixtures refer to (inbox/, outbox/, state/
// and a credentials file of mode 0600) plus archivist.yaml with the given content, and
// returns the path of archivist.yaml.
func newConfigDir(t *testing.T, yamlText string) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"inbox", "outbox", "state"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "globalrelay.credentials"), testCredentials+"\n", 0o600)
	path := filepath.Join(dir, "archivist.yaml")
	writeFile(t, path, yamlText, 0o644)
	return path
}

// writeFile writes content with exactly mode perm, whatever the umask.
func writeFile(t *testing.T, name, content string, perm fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, perm); err != nil {
		t.Fatal(err)
	}
}

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := readTestdata(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readTestdata(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", name))
}

func mustLoad(t *testing.T, path string) *Config {
	t.Helper()
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func TestLoadMinimalAppliesEveryDefault(t *testing.T) {
	path := newConfigDir(t, readFixture(t, "minimal.yaml"))
	dir := filepath.Dir(path)
	got := mustLoad(t, path)
	want := &Config{
		File:            path,
		Journal:         filepath.Join(dir, "state", "journal.db"),
		Workers:         4,
		ShutdownTimeout: Duration(30 * time.Second),
		Log:             Log{Format: "auto", Level: "info"},
		GlobalRelay: GlobalRelay{
			URL:                 "https://conversations.example/v2",
			TokenURL:            "https://iam.example/oauth2/token",
			CredentialsFile:     filepath.Join(dir, "globalrelay.credentials"),
			Credentials:         testCredentials,
			ConversationType:    "ArchivistChat",
			ResponseTimeout:     Duration(2 * time.Minute),
			InsecureSkipVerify:  false,
			MaxFileSize:         1073741824,
			MaxEventsPerRequest: 100,
			MaxRequestBytes:     1000000,
		},
		Retry: Retry{MinDelay: Duration(time.Second), MaxDelay: Duration(5 * time.Minute)},
		Watches: []Watch{{
			Name:         "teams",
			Path:         filepath.Join(dir, "inbox"),
			Settle:       Duration(5 * time.Second),
			ScanInterval: Duration(time.Minute),
			Sender:       Sender{Name: "Teams Export", Email: "teams-export@example.com"},
			Ignore:       []string{".*", "*.part", "*.tmp", "*.crdownload", "~$*"},
			InlineImages: true,
			Mode:         "files", AttachmentWait: Duration(10 * time.Minute), UnreferencedAfter: Duration(time.Hour),
			After: "keep", DoneDir: filepath.Join(dir, "inbox.done"),
		}},
		Reconcile: Reconcile{Schedule: "@hourly", StaleAfter: Duration(time.Hour)},
	}
	assertConfig(t, got, want)
	if got.GlobalRelay.Credentials.Reveal() != testCredentials {
		t.Errorf("Credentials.Reveal() = %q, want %q", got.GlobalRelay.Credentials.Reveal(), testCredentials)
	}
}

func TestLoadFullOverridesEveryDefault(t *testing.T) {
	path := newConfigDir(t, readFixture(t, "full.yaml"))
	dir := filepath.Dir(path)
	got := mustLoad(t, path)
	want := &Config{
		File:            path,
		Journal:         "/var/lib/archivist/journal.db",
		Workers:         8,
		ShutdownTimeout: Duration(45 * time.Second),
		Log:             Log{Format: "json", Level: "debug"},
		GlobalRelay: GlobalRelay{
			URL:                 "https://conversations.example/v2",
			TokenURL:            "https://iam.example/oauth2/token",
			CredentialsFile:     filepath.Join(dir, "globalrelay.credentials"),
			Credentials:         testCredentials,
			ConversationType:    "ArchivistChat",
			ResponseTimeout:     Duration(90 * time.Second),
			InsecureSkipVerify:  true,
			MaxFileSize:         500_000_000,
			MaxEventsPerRequest: 50,
			MaxRequestBytes:     2_000_000,
		},
		Retry: Retry{MinDelay: Duration(2 * time.Second), MaxDelay: Duration(10 * time.Minute)},
		Watches: []Watch{{
			Name:         "teams",
			Path:         filepath.Join(dir, "inbox"),
			Settle:       Duration(10 * time.Second),
			ScanInterval: 0,
			Sender:       Sender{Name: "Teams Export", Email: "teams-export@example.com"},
			Ignore:       []string{"*.bak", "~*"},
			InlineImages: false,
			Mode:         "transcripts", AttachmentWait: Duration(20 * time.Minute), UnreferencedAfter: Duration(2 * time.Hour),
			After: "move", DoneDir: filepath.Join(dir, "archived"), Retention: Duration(24 * time.Hour),
			Timezone: "UTC", Location: time.UTC,
		}, {
			Name:         "slack-2",
			Path:         filepath.Join(dir, "outbox"),
			Settle:       Duration(90 * time.Second),
			ScanInterval: Duration(5 * time.Minute),
			Sender:       Sender{Name: "Slack Export", Email: "slack@example.com"},
			Ignore:       []string{},
			InlineImages: true,
			Mode:         "files", AttachmentWait: Duration(10 * time.Minute), UnreferencedAfter: Duration(time.Hour),
			After: "keep", DoneDir: filepath.Join(dir, "outbox.done"),
		}},
		Control:   Control{Socket: filepath.Join(dir, "run", "control.sock")},
		Reconcile: Reconcile{Schedule: "30 2 * * *", Timezone: "Europe/London", StaleAfter: Duration(3 * time.Hour), VerifyFiles: 50},
		Metrics:   Metrics{Listen: "127.0.0.1:9464"},
	}
	assertConfig(t, got, want)
	if got.Watches[1].Ignore == nil {
		t.Error("ignore: [] decoded as nil; want an empty list, distinct from the default")
	}
}

func assertConfig(t *testing.T, got, want *Config) {
	t.Helper()
	// Compare the secret separately: its printed form is redacted on both sides.
	if got.GlobalRelay.Credentials.Reveal() != want.GlobalRelay.Credentials.Reveal() {
		t.Errorf("Credentials differ")
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config differs\n got: %+v\nwant: %+v", got, want)
	}
}

func TestDefaultIgnoreIsNotShared(t *testing.T) {
	c := mustLoad(t, newConfigDir(t, readFixture(t, "minimal.yaml")))
	c.Watches[0].Ignore[0] = "changed"
	if DefaultIgnore[0] != ".*" {
		t.Fatalf("changing a watch's ignore list changed DefaultIgnore: %q", DefaultIgnore)
	}
}

func TestRelativePathsResolveAgainstConfigFolder(t *testing.T) {
	root := t.TempDir()
	confPath := newConfigDir(t, readFixture(t, "minimal.yaml"))
	// Run from an unrelated folder that has no inbox/ and no credentials: resolving
	// against the working directory would fail validation.
	t.Chdir(root)
	rel, err := filepath.Rel(root, confPath)
	if err != nil {
		t.Fatal(err)
	}
	c := mustLoad(t, rel)
	dir := filepath.Dir(confPath)
	if c.File != confPath {
		t.Errorf("File = %q, want %q", c.File, confPath)
	}
	if want := filepath.Join(dir, "state", "journal.db"); c.Journal != want {
		t.Errorf("Journal = %q, want %q", c.Journal, want)
	}
	if want := filepath.Join(dir, "globalrelay.credentials"); c.GlobalRelay.CredentialsFile != want {
		t.Errorf("CredentialsFile = %q, want %q", c.GlobalRelay.CredentialsFile, want)
	}
	if want := filepath.Join(dir, "inbox"); c.Watches[0].Path != want {
		t.Errorf("Watches[0].Path = %q, want %q", c.Watches[0].Path, want)
	}
}

func TestParseResolvesAgainstDir(t *testing.T) {
	path := newConfigDir(t, "")
	dir := filepath.Dir(path)
	c, err := Parse(strings.NewReader(readFixture(t, "minimal.yaml")), dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.File != "" {
		t.Errorf("File = %q, want empty for Parse", c.File)
	}
	if want := filepath.Join(dir, "inbox"); c.Watches[0].Path != want {
		t.Errorf("Watches[0].Path = %q, want %q", c.Watches[0].Path, want)
	}
}

func TestPresentZeroValuesOverrideDefaults(t *testing.T) {
	tests := []struct {
		name  string
		watch string // extra keys of watches[0]
		check func(t *testing.T, w Watch)
	}{
		{"scan_interval absent", "", func(t *testing.T, w Watch) {
			if w.ScanInterval != Duration(time.Minute) {
				t.Errorf("ScanInterval = %v, want 1m", w.ScanInterval)
			}
		}},
		{"scan_interval 0", "scan_interval: 0", func(t *testing.T, w Watch) {
			if w.ScanInterval != 0 {
				t.Errorf("ScanInterval = %v, want 0 (off)", w.ScanInterval)
			}
		}},
		{"scan_interval 0s", "scan_interval: 0s", func(t *testing.T, w Watch) {
			if w.ScanInterval != 0 {
				t.Errorf("ScanInterval = %v, want 0 (off)", w.ScanInterval)
			}
		}},
		{"scan_interval null keeps default", "scan_interval:", func(t *testing.T, w Watch) {
			if w.ScanInterval != Duration(time.Minute) {
				t.Errorf("ScanInterval = %v, want 1m", w.ScanInterval)
			}
		}},
		{"inline_images false", "inline_images: false", func(t *testing.T, w Watch) {
			if w.InlineImages {
				t.Error("InlineImages = true, want false")
			}
		}},
		{"ignore empty list", "ignore: []", func(t *testing.T, w Watch) {
			if w.Ignore == nil || len(w.Ignore) != 0 {
				t.Errorf("Ignore = %#v, want an empty list", w.Ignore)
			}
		}},
		{"ignore replaces defaults", `ignore: ["*.bak"]`, func(t *testing.T, w Watch) {
			if !slices.Equal(w.Ignore, []string{"*.bak"}) {
				t.Errorf("Ignore = %q, want [*.bak]", w.Ignore)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := readFixture(t, "minimal.yaml")
			if tt.watch != "" {
				text = replaceOnce(t, text, "    path: inbox\n", "    path: inbox\n    "+tt.watch+"\n")
			}
			c := mustLoad(t, newConfigDir(t, text))
			tt.check(t, c.Watches[0])
		})
	}
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if strings.Count(s, old) != 1 {
		t.Fatalf("test setup: %q occurs %d times, want once", old, strings.Count(s, old))
	}
	return strings.Replace(s, old, new, 1)
}

// secondWatch is appended to the minimal fixture by cases that need two watches.
const secondWatch = `  - name: slack
    path: outbox
    sender: {name: Slack Export, email: slack@example.com}
`

func TestLoadErrorsNameTheKey(t *testing.T) {
	minimal := readFixture(t, "minimal.yaml")
	tests := []struct {
		name     string
		from, to string // replace from (which must occur once) by to; from "" appends to
		creds    *string
		want     string // a line of the error after "config <path>: "; $DIR is the config folder
	}{
		// unknown keys, at any depth
		{"unknown top-level key", "journal:", "jounral:", nil, `jounral: unknown key, did you mean "journal"?`},
		{"unknown nested key", "  url:", "  urll:", nil, `globalrelay.urll: unknown key, did you mean "url"?`},
		{"unknown key in second list item", "", strings.Replace(secondWatch, "sender:", "sendr:", 1), nil, `watches[1].sendr: unknown key, did you mean "sender"?`},
		{"unknown key two levels down", "      email:", "      mail:", nil, `watches[0].sender.mail: unknown key, did you mean "email"?`},
		{"unknown key no suggestion", "", "mode: forward\n", nil, `mode: unknown key (line`},
		{"key set twice", "", "journal: other.db\n", nil, `journal: key is set twice (first at line 3)`},

		// durations and type errors
		{"invalid duration", "    path: inbox\n", "    path: inbox\n    settle: 5x\n", nil, `watches[0].settle: invalid duration "5x"`},
		{"duration without unit", "    path: inbox\n", "    path: inbox\n    settle: 30\n", nil, `watches[0].settle: invalid duration "30": add a unit, e.g. "30s"`},
		{"duration as list", "    path: inbox\n", "    path: inbox\n    settle: [5s]\n", nil, `watches[0].settle: expected a duration such as "30s" or "1m30s", got a list`},
		{"duration as mapping", "", "retry:\n  max_delay: {m: 5}\n", nil, `retry.max_delay: expected a duration such as "30s" or "1m30s", got a mapping`},
		{"string for integer", "", "workers: many\n", nil, `workers: expected an integer, got "many"`},
		{"fraction for integer", "", "workers: 1.5\n", nil, `workers: expected an integer, got "1.5"`}, // not truncated to 1
		{"yes for bool", "    path: inbox\n", "    path: inbox\n    inline_images: yes\n", nil, `watches[0].inline_images: expected true or false, got "yes"`},
		{"mapping for list", "watches:\n  - name: teams", "watches:\n  x:\n    name: teams", nil, `watches: expected a list, got a mapping`},
		{"scalar for section", "globalrelay:\n", "log: loud\nglobalrelay:\n", nil, `log: expected a mapping, got "loud"`},
		{"scalar for list", "    path: inbox\n", "    path: inbox\n    ignore: '*.tmp'\n", nil, `watches[0].ignore: expected a list, got "*.tmp"`},
		{"mapping for string", "name: teams", "name: {x: 1}", nil, `watches[0].name: expected a string, got a mapping`},

		// required keys
		{"journal missing", "journal: state/journal.db\n", "", nil, `journal: required`},
		{"conversation_type missing", "  conversation_type: ArchivistChat\n", "", nil, `globalrelay.conversation_type: required`},
		{"token_url missing", "  token_url: https://iam.example/oauth2/token\n", "", nil, `globalrelay.token_url: required`},
		{"watches empty", "watches:\n", "watches: []\nx:\n", nil, `watches: at least one watch is required`},
		{"sender name missing", "      name: Teams Export\n", "", nil, `watches[0].sender.name: required`},
		{"watch name missing", "  - name: teams\n    path", "  - path", nil, `watches[0].name: required`},

		// keys of transcripts mode, after-archiving, reconciliation and metrics
		{"bad mode", "    path: inbox\n", "    path: inbox\n    mode: chats\n", nil, `watches[0].mode: "chats": want files or transcripts`},
		{"bad after", "    path: inbox\n", "    path: inbox\n    after: shred\n", nil, `watches[0].after: "shred": want keep, move or delete`},
		{"done_dir inside watch", "    path: inbox\n", "    path: inbox\n    after: move\n    done_dir: inbox/done\n", nil, `watches[0].done_dir: "$DIR/inbox/done" is inside the watch folder`},
		{"zero attachment_wait", "    path: inbox\n", "    path: inbox\n    attachment_wait: 0s\n", nil, `watches[0].attachment_wait: must be greater than 0`},
		{"bad cron", "", "reconcile: {schedule: every day}\n", nil, `reconcile.schedule: "every day" is not a cron schedule`},
		{"bad timezone", "", "reconcile: {timezone: Mars/Olympus}\n", nil, `reconcile.timezone: "Mars/Olympus"`},
		{"negative verify_files", "", "reconcile: {verify_files: -1}\n", nil, `reconcile.verify_files: must be 0 (none) or a number of files, got -1`},
		{"bad metrics address", "", "metrics: {listen: 9464}\n", nil, `metrics.listen: "9464" is not host:port`},
		{"identities missing", "", "identities: people.csv\n", nil, `identities: "$DIR/people.csv": no such file`},
		{"identities a folder", "", "identities: inbox\n", nil, `identities: "$DIR/inbox": not a regular file`},
		{"bad watch timezone", "    path: inbox\n", "    path: inbox\n    timezone: Europe/Atlantis\n", nil, `watches[0].timezone: "Europe/Atlantis" is not an IANA time zone`},
		{"bad date_order", "    path: inbox\n", "    path: inbox\n    timezone: Europe/Berlin\n    date_order: dym\n", nil, `watches[0].date_order: "dym": want dmy, mdy or ymd`},
		{"date_order without timezone", "    path: inbox\n", "    path: inbox\n    date_order: dmy\n", nil, `watches[0].date_order: requires watches[0].timezone`},

		// watch checks
		{"duplicate watch name", "", strings.Replace(secondWatch, "slack", "teams", 1), nil, `watches[1].name: duplicate watch name "teams" (also watches[0])`},
		{"bad watch name", "name: teams", "name: Teams", nil, `watches[0].name: "Teams" must match [a-z0-9-]+`},
		{"long watch name", "name: teams", "name: " + strings.Repeat("a", 65), nil, `watches[0].name: "` + strings.Repeat("a", 65) + `" is longer than 64 characters`},
		{"watch path missing", "path: inbox", "path: missing", nil, `watches[0].path: "$DIR/missing": no such directory`},
		{"watch path is a file", "path: inbox", "path: globalrelay.credentials", nil, `watches[0].path: "$DIR/globalrelay.credentials": not a directory`},
		{"settle zero", "    path: inbox\n", "    path: inbox\n    settle: 0s\n", nil, `watches[0].settle: must be greater than 0, got 0s`},
		{"scan_interval negative", "    path: inbox\n", "    path: inbox\n    scan_interval: -1s\n", nil, `watches[0].scan_interval: must not be negative`},
		{"email without @", "email: teams-export@example.com", "email: teams-export", nil, `watches[0].sender.email: "teams-export" is not an email address`},
		{"bad ignore pattern", "    path: inbox\n", "    path: inbox\n    ignore: ['*.tmp', '[']\n", nil, `watches[0].ignore[1]: "[" is not a valid pattern`},
		{"empty ignore pattern", "    path: inbox\n", "    path: inbox\n    ignore: ['']\n", nil, `watches[0].ignore[0]: empty pattern`},
		{"ignore pattern with slash", "    path: inbox\n", "    path: inbox\n    ignore: ['tmp/*']\n", nil, `watches[0].ignore[0]: "tmp/*" contains "/"`},

		// credentials
		{"credentials missing", "credentials_file: globalrelay.credentials", "credentials_file: nope", nil, `globalrelay.credentials_file: "$DIR/nope": no such file`},
		{"credentials is a folder", "credentials_file: globalrelay.credentials", "credentials_file: inbox", nil, `globalrelay.credentials_file: "$DIR/inbox": not a regular file`},
		{"credentials empty", "", "", ptr(""), `globalrelay.credentials_file: "$DIR/globalrelay.credentials": file is empty`},
		{"credentials whitespace", "", "", ptr(" \n\t\n"), `globalrelay.credentials_file: "$DIR/globalrelay.credentials": file is empty`},

		// ranges and formats
		{"workers zero", "", "workers: 0\n", nil, `workers: must be between 1 and 256, got 0`},
		{"workers too many", "", "workers: 257\n", nil, `workers: must be between 1 and 256, got 257`},
		{"shutdown_timeout negative", "", "shutdown_timeout: -1s\n", nil, `shutdown_timeout: must not be negative, got -1s`},
		{"audit_retention_days negative", "", "audit_retention_days: -1\n", nil, `audit_retention_days: must be between 0 and 36500, got -1`},
		{"audit_retention_days not a number", "", "audit_retention_days: 400d\n", nil, `audit_retention_days`},
		{"log format", "", "log: {format: xml}\n", nil, `log.format: "xml" must be one of auto, text, json`},
		{"log level", "", "log: {level: loud}\n", nil, `log.level: "loud" must be one of panic, fatal, error, warning, info, debug, trace`},
		{"url not http", "url: https://conversations.example/v2/", "url: ftp://conversations.example/v2", nil, `globalrelay.url: "ftp://conversations.example/v2" must be an absolute http or https URL`},
		{"url relative", "url: https://conversations.example/v2/", "url: /v2", nil, `globalrelay.url: "/v2" must be an absolute http or https URL`},
		{"url with query", "url: https://conversations.example/v2/", "url: https://conversations.example/v2?x=1", nil, `globalrelay.url: "https://conversations.example/v2?x=1" must not have a query or fragment`},
		{"url unparsable", "url: https://conversations.example/v2/", "url: 'http://a b:c/'", nil, `globalrelay.url: not a valid URL`},
		{"token_url relative", "token_url: https://iam.example/oauth2/token", "token_url: oauth2/token", nil, `globalrelay.token_url: "oauth2/token" must be an absolute http or https URL`},
		{"response_timeout zero", "  conversation_type: ArchivistChat\n", "  conversation_type: ArchivistChat\n  response_timeout: 0s\n", nil, `globalrelay.response_timeout: must be greater than 0, got 0s`},
		{"max_file_size zero", "  conversation_type: ArchivistChat\n", "  conversation_type: ArchivistChat\n  max_file_size: 0\n", nil, `globalrelay.max_file_size: must be between 1 and 1073741824, got 0`},
		{"max_file_size above 1 GB", "  conversation_type: ArchivistChat\n", "  conversation_type: ArchivistChat\n  max_file_size: 1073741825\n", nil, `globalrelay.max_file_size: must be between 1 and 1073741824, got 1073741825`},
		{"max_events_per_request", "  conversation_type: ArchivistChat\n", "  conversation_type: ArchivistChat\n  max_events_per_request: 1001\n", nil, `globalrelay.max_events_per_request: must be between 1 and 1000, got 1001`},
		{"max_request_bytes small", "  conversation_type: ArchivistChat\n", "  conversation_type: ArchivistChat\n  max_request_bytes: 4095\n", nil, `globalrelay.max_request_bytes: must be between 4096 and 3500000, got 4095`},
		{"max_request_bytes large", "  conversation_type: ArchivistChat\n", "  conversation_type: ArchivistChat\n  max_request_bytes: 3500001\n", nil, `globalrelay.max_request_bytes: must be between 4096 and 3500000, got 3500001`},
		{"retry min_delay zero", "", "retry: {min_delay: 0s}\n", nil, `retry.min_delay: must be greater than 0, got 0s`},
		{"retry max below min", "", "retry: {min_delay: 10s, max_delay: 5s}\n", nil, `retry.max_delay: must be at least retry.min_delay (10s), got 5s`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := minimal
			if tt.from == "" {
				text += tt.to
			} else {
				text = replaceOnce(t, text, tt.from, tt.to)
			}
			path := newConfigDir(t, text)
			if tt.creds != nil {
				writeFile(t, filepath.Join(filepath.Dir(path), "globalrelay.credentials"), *tt.creds, 0o600)
			}
			c, err := Load(path)
			if err == nil {
				t.Fatalf("Load succeeded, want an error containing %q; config: %+v", tt.want, c)
			}
			want := strings.ReplaceAll(tt.want, "$DIR", filepath.Dir(path))
			assertErrorLine(t, err, path, want)
		})
	}
}

// assertErrorLine checks that every line of err says which file it is about, that one
// line starts with want, and that a *KeyError names the key that want starts with.
func assertErrorLine(t *testing.T, err error, path, want string) {
	t.Helper()
	prefix := "config " + path + ": "
	found := false
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.HasPrefix(line, prefix) {
			t.Errorf("error line %q does not start with %q", line, prefix)
		}
		if strings.HasPrefix(line, prefix+want) {
			found = true
		}
	}
	if !found {
		t.Errorf("no error line starts with %q; got:\n%v", prefix+want, err)
	}
	key, _, _ := strings.Cut(want, ": ")
	if !slices.ContainsFunc(keyErrors(err), func(e *KeyError) bool { return e.Key == key }) {
		t.Errorf("no *KeyError with Key %q in %v", key, err)
	}
}

// keyErrors returns every *KeyError in the tree of err.
func keyErrors(err error) []*KeyError {
	if ke, ok := err.(*KeyError); ok {
		return []*KeyError{ke}
	}
	var out []*KeyError
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			out = append(out, keyErrors(inner)...)
		}
	case interface{ Unwrap() error }:
		if inner := e.Unwrap(); inner != nil {
			out = keyErrors(inner)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func TestParseErrorsCarryLineNumbers(t *testing.T) {
	text := "journal: j.db\nglobalrelay:\n  urll: https://x.example\nwatches:\n  - name: a\n    settle: 5x\n"
	_, err := Parse(strings.NewReader(text), t.TempDir())
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	lines := strings.Split(err.Error(), "\n")
	for _, want := range []string{
		`globalrelay.urll: unknown key, did you mean "url"? (line 3)`,
		`watches[0].settle: invalid duration "5x" (line 6)`,
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("no error line %q; got:\n%v", want, err)
		}
	}
}

func TestParseReportsAllProblemsAtOnce(t *testing.T) {
	text := readFixture(t, "minimal.yaml") + "workers: 0\nshutdown_timeout: 1x\nretry: {min_delay: 0s}\n"
	path := newConfigDir(t, text)
	_, err := Load(path)
	if err == nil {
		t.Fatal("Load succeeded")
	}
	keys := make(map[string]bool)
	for _, ke := range keyErrors(err) {
		keys[ke.Key] = true
	}
	for _, k := range []string{"workers", "shutdown_timeout", "retry.min_delay"} {
		if !keys[k] {
			t.Errorf("no problem reported for %s; got:\n%v", k, err)
		}
	}
}

func TestParseDocumentErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"empty file", "", "the config is empty"},
		{"only comments", "# nothing yet\n", "the config is empty"},
		{"only document marker", "---\n", "the config is empty"},
		{"explicit null", "~\n", "the config is empty"},
		{"list at top level", "- journal: x\n", "line 1: the config must be a mapping of keys to values, got a list"},
		{"scalar at top level", "journal\n", `line 1: the config must be a mapping of keys to values, got "journal"`},
		{"two documents", "journal: a\n---\njournal: b\n", "line 2: a second YAML document starts here"},
		{"non-empty document after an empty one", "journal: a\n---\n---\njournal: b\n", "line 3: a second YAML document starts here"},
		{"syntax error", "journal: a\nwatches: [\n", "yaml: line"},
		{"tab indentation", "globalrelay:\n\turl: x\n", "yaml: line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := newConfigDir(t, tt.text)
			_, err := Load(path)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if want := "config " + path + ": " + tt.want; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error = %q, want prefix %q", err, want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.yaml")
	_, err := Load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error = %v, want fs.ErrNotExist", err)
	}
	if !strings.HasPrefix(err.Error(), "config "+path+": ") {
		t.Errorf("error = %q, want the config path first", err)
	}
}

func TestMissingWatchFolderIsErrNotExist(t *testing.T) {
	text := replaceOnce(t, readFixture(t, "minimal.yaml"), "path: inbox", "path: missing")
	_, err := Load(newConfigDir(t, text))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error = %v, want it to match fs.ErrNotExist", err)
	}
}

func TestCredentialsUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	path := newConfigDir(t, readFixture(t, "minimal.yaml"))
	creds := filepath.Join(filepath.Dir(path), "globalrelay.credentials")
	writeFile(t, creds, "x", 0o000)
	_, err := Load(path)
	if err == nil {
		t.Fatal("Load succeeded")
	}
	assertErrorLine(t, err, path, "globalrelay.credentials_file: open "+creds+": permission denied")
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("error = %v, want it to match fs.ErrPermission", err)
	}
}

func TestCredentialsTrimmed(t *testing.T) {
	for _, content := range []string{"s3cr3t\n", "s3cr3t\r\n", "  s3cr3t  \n\n", "s3cr3t"} {
		path := newConfigDir(t, readFixture(t, "minimal.yaml"))
		writeFile(t, filepath.Join(filepath.Dir(path), "globalrelay.credentials"), content, 0o600)
		c := mustLoad(t, path)
		if got := c.GlobalRelay.Credentials.Reveal(); got != "s3cr3t" {
			t.Errorf("content %q: Credentials = %q, want %q", content, got, "s3cr3t")
		}
	}
}

func TestCredentialsModeWarning(t *testing.T) {
	tests := []struct {
		perm fs.FileMode
		mode string // as the warning prints it; "" for no warning
	}{
		{0o600, ""},
		{0o400, ""},
		{0o640, "0640"},
		{0o604, "0604"},
		{0o644, "0644"},
		{0o620, "0620"}, // writable by the group: another account could swap the credential
	}
	for _, tt := range tests {
		t.Run(tt.perm.String(), func(t *testing.T) {
			path := newConfigDir(t, readFixture(t, "minimal.yaml"))
			creds := filepath.Join(filepath.Dir(path), "globalrelay.credentials")
			writeFile(t, creds, testCredentials, tt.perm)
			c := mustLoad(t, path)
			var want []string
			if tt.mode != "" {
				want = []string{"globalrelay.credentials_file: " + creds + " is readable by group or others (mode " + tt.mode + "); chmod 600 it"}
			}
			if !slices.Equal(c.Warnings, want) {
				t.Errorf("Warnings = %q, want %q", c.Warnings, want)
			}
			// Validate recomputes the warnings instead of adding to them.
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Warnings, want) {
				t.Errorf("after Validate again, Warnings = %q, want %q", c.Warnings, want)
			}
		})
	}
}

func TestAliasesAndMergeKeys(t *testing.T) {
	text := readFixture(t, "minimal.yaml") + `  - <<: *teams
    name: slack
    path: outbox
  - name: chat
    path: outbox/..//chat
    sender: *sender
`
	text = replaceOnce(t, text, "  - name: teams\n", "  - &teams\n    name: teams\n    settle: 10s\n")
	text = replaceOnce(t, text, "    sender:\n", "    sender: &sender\n")
	path := newConfigDir(t, text)
	if err := os.Mkdir(filepath.Join(filepath.Dir(path), "chat"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := mustLoad(t, path)
	if len(c.Watches) != 3 {
		t.Fatalf("got %d watches, want 3", len(c.Watches))
	}
	slack, chat := c.Watches[1], c.Watches[2]
	if slack.Name != "slack" || slack.Path != filepath.Join(filepath.Dir(path), "outbox") {
		t.Errorf("explicit keys must win over merged ones: name %q, path %q", slack.Name, slack.Path)
	}
	if slack.Settle != Duration(10*time.Second) || slack.Sender != c.Watches[0].Sender {
		t.Errorf("merged keys missing: settle %v, sender %+v", slack.Settle, slack.Sender)
	}
	if chat.Sender != c.Watches[0].Sender || chat.Settle != Duration(5*time.Second) {
		t.Errorf("alias: sender %+v, settle %v", chat.Sender, chat.Settle)
	}
	if chat.Path != filepath.Join(filepath.Dir(path), "chat") {
		t.Errorf("path not cleaned: %q", chat.Path)
	}
}

func TestWatchByName(t *testing.T) {
	c := mustLoad(t, newConfigDir(t, readFixture(t, "full.yaml")))
	w, ok := c.WatchByName("slack-2")
	if !ok || w.Name != "slack-2" {
		t.Fatalf("WatchByName(slack-2) = %v, %v", w, ok)
	}
	if w != &c.Watches[1] {
		t.Error("WatchByName returned a copy, want a pointer into Watches")
	}
	if w, ok := c.WatchByName("nope"); ok || w != nil {
		t.Errorf("WatchByName(nope) = %v, %v; want nil, false", w, ok)
	}
}

func TestTrailingEmptyDocumentIsAccepted(t *testing.T) {
	mustLoad(t, newConfigDir(t, readFixture(t, "minimal.yaml")+"---\n"))
}

func TestParseWithoutDirUsesWorkingDirectory(t *testing.T) {
	text := readFixture(t, "minimal.yaml")
	dir := filepath.Dir(newConfigDir(t, ""))
	t.Chdir(dir)
	c, err := Parse(strings.NewReader(text), "")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "inbox"); c.Watches[0].Path != want {
		t.Errorf("Watches[0].Path = %q, want %q", c.Watches[0].Path, want)
	}
}

func TestWatchChatClockAndIdentitiesLoad(t *testing.T) {
	text := strings.Replace(readFixture(t, "minimal.yaml"), "    path: inbox\n",
		"    path: inbox\n    timezone: Europe/Berlin\n    date_order: mdy\n", 1) + "identities: people.csv\n"
	path := newConfigDir(t, text)
	writeFile(t, filepath.Join(filepath.Dir(path), "people.csv"), "source,id,email,name\n", 0o644)
	c := mustLoad(t, path)
	w := c.Watches[0]
	if w.Location == nil || w.Location.String() != "Europe/Berlin" || w.DateOrder != "mdy" {
		t.Errorf("watch clock: location %v, date_order %q", w.Location, w.DateOrder)
	}
	if want := filepath.Join(filepath.Dir(path), "people.csv"); c.Identities != want {
		t.Errorf("identities = %q, want %q", c.Identities, want)
	}
	if c = mustLoad(t, newConfigDir(t, readFixture(t, "minimal.yaml"))); c.Watches[0].Location != nil || c.Identities != "" {
		t.Errorf("defaults: location %v, identities %q", c.Watches[0].Location, c.Identities)
	}
}

func TestTranscriptsWatchWithoutTimezoneWarnsAboutWhatsApp(t *testing.T) {
	c := mustLoad(t, newConfigDir(t, readFixture(t, "full.yaml")))
	c.Watches[0].Timezone = ""
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || !strings.HasPrefix(c.Warnings[0], "watches[0].timezone: not set: a WhatsApp export") {
		t.Fatalf("warnings %q", c.Warnings)
	}
	c.Watches[0].Mode = "files"
	if err := c.Validate(); err != nil || len(c.Warnings) != 0 {
		t.Fatalf("a files watch without timezone: %v, warnings %q", err, c.Warnings)
	}
}
