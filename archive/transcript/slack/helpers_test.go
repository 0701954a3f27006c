package slack

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"testing"
)

// zent is one entry of a fixture ZIP.
type zent struct {
	name string
	data []byte
	mode fs.FileMode // 0: a regular file
	// declared, if set, is the uncompressed size written into the headers instead of the
	// real one (a lying entry: the actual bomb).
	declared uint64
}

func jsonEnt(t testing.TB, name string, v any) zent {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "    ") // Slack's own export is indented like this
	if err != nil {
		t.Fatal(err)
	}
	return zent{name: name, data: b}
}

// buildZip writes the entries, deflated, into a ZIP in memory.
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

func openBytes(t testing.TB, name string, data []byte) (*Export, error) {
	t.Helper()
	return Open(bytes.NewReader(data), int64(len(data)), name, Options{})
}

// walkAll collects every day by conversation folder, and Walk's error.
func walkAll(t testing.TB, x *Export) (map[string][]*Day, error) {
	t.Helper()
	days := map[string][]*Day{}
	err := x.Walk(context.Background(), func(d *Day) error {
		days[d.Conversation.folder] = append(days[d.Conversation.folder], d)
		return nil
	})
	return days, err
}

// problems splits Walk's joined error into its *Errors.
func problems(t testing.TB, err error) []*Error {
	t.Helper()
	if err == nil {
		return nil
	}
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	var out []*Error
	for _, e := range list {
		var se *Error
		if !errors.As(e, &se) {
			t.Fatalf("problem %v is not an *Error", e)
		}
		out = append(out, se)
	}
	return out
}

func findProblem(t testing.TB, err error, entry, reason string, target error) *Error {
	t.Helper()
	for _, p := range problems(t, err) {
		if p.Entry == entry && strings.Contains(p.Reason, reason) && errors.Is(p, target) {
			return p
		}
	}
	t.Fatalf("no problem for entry %q with %q (%v) in:\n%v", entry, reason, target, err)
	return nil
}
