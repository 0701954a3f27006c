package logjson

import (
	"bytes"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

func entry(msg string, data logrus.Fields) *logrus.Entry {
	e := logrus.NewEntry(logrus.New()).WithFields(data)
	e.Time = time.Date(2026, 12, 3, 14, 5, 6, 789000000, time.FixedZone("X", 3600))
	e.Level = logrus.WarnLevel
	e.Message = msg
	return e
}

func same(t *testing.T, e *logrus.Entry) {
	t.Helper()
	want, err := (&logrus.JSONFormatter{TimestampFormat: time.RFC3339Nano}).Format(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := New(time.RFC3339Nano).Format(e)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("line differs from logrus's:\n got %s\nwant %s", got, want)
	}
}

type state string

func TestLinesAreLogrusLines(t *testing.T) {
	cases := map[string]logrus.Fields{
		"file archived": {"id": uint64(11), "key": "default/bench/45b7/f08446.txt", "path": "batch/f08446.txt",
			"request_id": "8a79dfb9-3a66-4671-b3c8-08511f59d987", "watch": "bench"},
		"numbers": {"a": 1, "b": int8(-2), "c": int16(3), "d": int32(-4), "e": int64(5), "f": uint(6), "g": uint8(7),
			"h": uint16(8), "i": uint32(9), "j": uint64(1 << 63), "k": true, "l": false, "m": 1500 * time.Millisecond},
		"escapes \"<b>\" & \n\t\r\b\f\x00\x1f\x7f": {"html": "<script>&amp;</script>", "ctl": "a\x01b\x1bc", "bad": "x\xffy\xc3",
			"seps": "a\u2028b\u2029c", "uni": "ünïcode ✓ 日本", "quote": `say "hi" \ bye`, "": "empty key"},
		"an error": {"error": errors.New("open /x: permission <denied>")},
		"clash":    {"time": "mine", "msg": 1, "level": "x", "logrus_error": "y"},
		"others":   {"state": state("held"), "when": time.Unix(0, 0).UTC(), "list": []string{"a"}, "f": 1.5, "nil": nil},
		"no data":  {},
	}
	for msg, data := range cases {
		t.Run(msg, func(t *testing.T) { same(t, entry(msg, data)) })
	}
	t.Run("caller", func(t *testing.T) {
		e := entry("with caller", logrus.Fields{"a": "b"})
		e.Caller = &runtime.Frame{Function: "main.f", File: "f.go", Line: 3}
		same(t, e)
	})
	t.Run("no timestamp format", func(t *testing.T) {
		e := entry("default layout", logrus.Fields{"a": "b"})
		want, _ := (&logrus.JSONFormatter{}).Format(e)
		if got, _ := New("").Format(e); string(got) != string(want) {
			t.Errorf("line differs from logrus's:\n got %s\nwant %s", got, want)
		}
	})
	t.Run("a field logrus refused", func(t *testing.T) {
		same(t, entry("func field", logrus.Fields{"fn": func() {}, "a": "b"}))
	})
}

// The fast path is taken for the daemon's own lines (a slow one would pass the test above
// too, and gain nothing).
func TestFileLinesTakeTheFastPath(t *testing.T) {
	e := entry("file archived", logrus.Fields{"id": uint64(1), "key": "k", "path": "p", "watch": "w", "took": time.Second})
	if _, ok := fastKeys(e); !ok {
		t.Fatal("a line of strings and numbers is formatted by logrus's formatter")
	}
	if _, ok := fastKeys(entry("clash", logrus.Fields{"msg": "x"})); ok {
		t.Fatal("a field named msg takes the fast path")
	}
}

func FuzzLinesAreLogrusLines(f *testing.F) {
	f.Add("file archived", "path", "batch/f0.txt", int64(-1), uint64(7))
	f.Add("<&>", "\u2028", "\xff\x00\"\\", int64(0), uint64(0))
	f.Fuzz(func(t *testing.T, msg, key, s string, n int64, u uint64) {
		same(t, entry(msg, logrus.Fields{key: s, key + "n": n, key + "u": u, "err": errors.New(s)}))
	})
}

// BenchmarkFileLine formats the daemon's most frequent line, logrus's way and this one's.
func BenchmarkFileLine(b *testing.B) {
	e := entry("file archived", logrus.Fields{"id": uint64(11), "key": "default/bench/45b7dd387bc81cddf716c04239f8f013f4a05f3fcb397f1a02623d215aa6490c/f08446.txt",
		"path": "batch/f08446.txt", "request_id": "8a79dfb9-3a66-4671-b3c8-08511f59d987", "watch": "bench"})
	e.Buffer = new(bytes.Buffer) // as logrus hands one from its pool
	for name, f := range map[string]logrus.Formatter{"logrus": &logrus.JSONFormatter{TimestampFormat: time.RFC3339Nano}, "logjson": New(time.RFC3339Nano)} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e.Buffer.Reset()
				if _, err := f.Format(e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
