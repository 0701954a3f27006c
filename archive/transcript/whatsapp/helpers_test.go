package whatsapp

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/archivist-project/archivist/archive/transcript"
)

const (
	lrm   = "\u200E"
	nnbsp = "\u202F"
)

// zent is one entry of a fixture ZIP.
type zent struct {
	name     string
	data     []byte
	mode     fs.FileMode // 0: a regular file
	declared uint64      // if set, the uncompressed size written instead of the real one
}

func buildZip(t testing.TB, ents ...zent) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range ents {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		if e.declared != 0 {
			writeRaw(t, zw, h, e)
			continue
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeRaw(t testing.TB, zw *zip.Writer, h *zip.FileHeader, e zent) {
	t.Helper()
	var comp bytes.Buffer
	fw, err := flate.NewWriter(&comp, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(e.data); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	h.CompressedSize64, h.UncompressedSize64 = uint64(comp.Len()), e.declared
	w, err := zw.CreateRaw(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(comp.Bytes()); err != nil {
		t.Fatal(err)
	}
}

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func openZipBytes(t testing.TB, name string, data []byte, opts Options) (*Chat, error) {
	t.Helper()
	return OpenZip(bytes.NewReader(data), int64(len(data)), name, opts)
}

func openMap(t testing.TB, files map[string]string, name string, opts Options) (*Chat, error) {
	t.Helper()
	fsys := fstest.MapFS{}
	for n, d := range files {
		fsys[n] = &fstest.MapFile{Data: []byte(d)}
	}
	return OpenText(fsys, name, opts)
}

// walkAll collects every event, the batches' participants by id, and Walk's error.
func walkAll(t testing.TB, c *Chat) ([]transcript.Event, map[string]transcript.Participant, error) {
	t.Helper()
	var evs []transcript.Event
	people := map[string]transcript.Participant{}
	err := c.Walk(context.Background(), func(b *Batch) error {
		for _, p := range b.Participants {
			people[p.ID] = p
		}
		for _, e := range b.Events {
			if e.Time.Location() != time.UTC {
				t.Fatalf("event %s: time not in UTC", e.ID)
			}
			if got := e.Time.In(c.loc).Format("2006-01-02"); got != b.Date {
				t.Fatalf("event %s on %s in a batch of %s", e.ID, got, b.Date)
			}
		}
		evs = append(evs, b.Events...)
		return nil
	})
	return evs, people, err
}

// line renders an event for comparison.
func line(e transcript.Event) string {
	s := e.Time.UTC().Format("2006-01-02 15:04:05") + " " + e.Type + " " + e.From
	if e.Text != "" {
		s += " text=" + strings.ReplaceAll(e.Text, "\n", `\n`)
	}
	if e.SystemText != "" {
		s += " sys=" + strings.ReplaceAll(e.SystemText, "\n", `\n`)
	}
	for _, f := range e.Files {
		s += fmt.Sprintf(" file=%s[%s%s %d]", f.Name, f.Entry, f.Path, f.Size)
	}
	return s
}

func lines(evs []transcript.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = line(e)
	}
	return out
}

func compare(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func problems(err error) []*Error {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else if err != nil {
		list = []error{err}
	}
	var out []*Error
	for _, e := range list {
		var we *Error
		if errors.As(e, &we) {
			out = append(out, we)
		}
	}
	return out
}

func wantError(t *testing.T, err error, target error, reason string, line int) *Error {
	t.Helper()
	var we *Error
	if !errors.As(err, &we) || !errors.Is(err, target) || !strings.Contains(we.Reason, reason) || we.Line != line {
		t.Fatalf("error %v: want %v at line %d containing %q", err, target, line, reason)
	}
	return we
}

func ioCopy(w *strings.Builder, r interface{ Read([]byte) (int, error) }) (int64, error) {
	var n int64
	buf := make([]byte, 512)
	for {
		k, err := r.Read(buf)
		w.Write(buf[:k])
		n += int64(k)
		if err != nil {
			if err.Error() == "EOF" {
				return n, nil
			}
			return n, err
		}
	}
}
