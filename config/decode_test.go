package config

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// The types below stand for sections that later work will add (destinations keyed by a
// free-form name, optional blocks, embedded common options): the decoder must handle
// them without changes.

type testCommon struct {
	Enabled bool `yaml:"enabled"`
}

type testDestination struct {
	testCommon `yaml:",inline"`
	URL        string   `yaml:"url"`
	Timeout    Duration `yaml:"timeout"`
	Rate       float64  `yaml:"rate"`
	Port       uint16   `yaml:"port"`
	Tags       []string `yaml:"tags"`
	Untagged   int
}

func (d *testDestination) setDefaults() {
	d.Timeout = Duration(time.Minute)
	d.Enabled = true
}

type testReconcile struct {
	Every Duration `yaml:"every"`
}

func (r *testReconcile) setDefaults() { r.Every = Duration(time.Hour) }

type testRoot struct {
	Mode         string                     `yaml:"mode"`
	Destinations map[string]testDestination `yaml:"destinations"`
	Reconcile    *testReconcile             `yaml:"reconcile"`
	Lists        [][]int                    `yaml:"lists"`
}

func decodeTest(t *testing.T, text string) (testRoot, []error) {
	t.Helper()
	root, err := parseDocument(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	var out testRoot
	errs := decodeValue(root, reflect.ValueOf(&out).Elem())
	return out, errs
}

func TestDecoderHandlesMapsPointersAndInline(t *testing.T) {
	got, errs := decodeTest(t, `
mode: forward
destinations:
  crm:
    url: https://crm.example
    rate: 2.5
    port: 8443
    tags: [a, b]
    untagged: 7
  crm eu:
    enabled: false
reconcile:
  every: 30m
lists: [[1, 2], [], [0x10]]
`)
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := testRoot{
		Mode: "forward",
		Destinations: map[string]testDestination{
			"crm": {testCommon: testCommon{Enabled: true}, URL: "https://crm.example", Timeout: Duration(time.Minute),
				Rate: 2.5, Port: 8443, Tags: []string{"a", "b"}, Untagged: 7},
			"crm eu": {Timeout: Duration(time.Minute)},
		},
		Reconcile: &testReconcile{Every: Duration(30 * time.Minute)},
		Lists:     [][]int{{1, 2}, {}, {16}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestDecoderAbsentPointerStaysNil(t *testing.T) {
	got, errs := decodeTest(t, "mode: x\n")
	if len(errs) > 0 || got.Reconcile != nil || got.Destinations != nil {
		t.Errorf("got %+v, %v; want nil reconcile and destinations", got, errs)
	}
	got, errs = decodeTest(t, "reconcile: {}\n")
	if len(errs) > 0 || got.Reconcile == nil || got.Reconcile.Every != Duration(time.Hour) {
		t.Errorf("reconcile: {} gave %+v, %v; want the defaults", got.Reconcile, errs)
	}
}

func TestDecoderErrorPaths(t *testing.T) {
	_, errs := decodeTest(t, `
destinations:
  crm:
    urll: x
    port: -1
    enabled: maybe
  crm.eu:
    timeout: soon
    tags: [a, [b]]
  [x]: {}
reconcile: [1]
lists: [[1, x]]
`)
	var got []string
	for _, err := range errs {
		got = append(got, err.Error())
	}
	want := []string{
		`destinations.crm.urll: unknown key, did you mean "url"? (line 4)`,
		`destinations.crm.port: expected a non-negative integer, got "-1" (line 5)`,
		`destinations.crm.enabled: expected true or false, got "maybe" (line 6)`,
		`destinations["crm.eu"].timeout: invalid duration "soon" (line 8)`,
		`destinations["crm.eu"].tags[1]: expected a string, got a list (line 9)`,
		`destinations: keys must be plain strings, got a list (line 10)`,
		`reconcile: expected a mapping, got a list (line 11)`,
		`lists[0][1]: expected an integer, got "x" (line 12)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDecoderMergeLoopIsAnError(t *testing.T) {
	_, errs := decodeTest(t, "reconcile: &r\n  <<: *r\n")
	if len(errs) == 0 {
		t.Fatal("no error for a mapping that merges itself")
	}
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		bits int
		want int64
		ok   bool
	}{
		{"42", 64, 42, true},
		{"+42", 64, 42, true},
		{"-7", 64, -7, true},
		{"1_000_000", 64, 1000000, true},
		{"0x10", 64, 16, true},
		{"0o17", 64, 15, true},
		{"1e9", 64, 1000000000, true},
		{"1.5", 64, 0, false},
		{"1e30", 64, 0, false},
		{"9223372036854775808", 64, 0, false},
		{"300", 8, 0, false},
		{"many", 64, 0, false},
		{".inf", 64, 0, false},
	}
	for _, tt := range tests {
		got, err := parseInt(tt.in, tt.bits)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseInt(%q, %d) = %d, %v; want %d, ok %v", tt.in, tt.bits, got, err, tt.want, tt.ok)
		}
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"name", "path", "settle", "scan_interval", "sender", "ignore", "inline_images"}
	for in, want := range map[string]string{
		"Name":          "name",
		"scan-interval": "scan_interval",
		"sendr":         "sender",
		"inline_image":  "inline_images",
		"interval":      "",
		"x":             "",
	} {
		if got := suggest(in, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParse checks that no input makes Parse panic, and that a failure always explains
// itself.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"minimal.yaml", "full.yaml"} {
		b, err := readTestdata(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("a: &a\n  b: *a\n"))
	f.Add([]byte("watches: [&w {<<: *w}]\n"))
	f.Add([]byte("- [1, {x: y}]\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(bytes.NewReader(data), dir)
		if err == nil && c == nil {
			t.Fatal("Parse returned neither a config nor an error")
		}
		if err != nil && strings.TrimSpace(err.Error()) == "" {
			t.Fatal("empty error message")
		}
	})
}

func TestDecoderReadsWhatYAMLMarshalWrites(t *testing.T) {
	// A config written back by yaml.Marshal must decode to the same values: the tags the
	// decoder reads are the ones the encoder writes.
	in := testRoot{Mode: "m", Destinations: map[string]testDestination{"a": {URL: "u", Timeout: Duration(time.Second)}}}
	b, err := yaml.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	got, errs := decodeTest(t, string(b))
	if len(errs) > 0 {
		t.Fatalf("decoding %s: %v", b, errs)
	}
	if got.Destinations["a"].URL != "u" || got.Destinations["a"].Timeout != Duration(time.Second) {
		t.Errorf("round trip of %s gave %+v", b, got)
	}
}
