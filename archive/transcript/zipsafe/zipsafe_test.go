package zipsafe

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"
)

var (
	errUnsafe  = errors.New("unsafe")
	errBomb    = errors.New("bomb")
	errInvalid = errors.New("invalid")
)

type entryError struct {
	entry, reason string
	err           error
}

func (e *entryError) Error() string { return e.entry + ": " + e.reason }
func (e *entryError) Unwrap() error { return e.err }

func rules() Rules {
	return Rules{MaxRatio: 10, RatioFloor: 100, Unsafe: errUnsafe, Bomb: errBomb, Invalid: errInvalid,
		Errorf: func(entry string, err error, format string, args ...any) error {
			return &entryError{entry: entry, reason: fmt.Sprintf(format, args...), err: err}
		}}
}

type entry struct {
	name string
	body string
	mode fs.FileMode
}

func zipOf(t *testing.T, entries ...entry) *zip.Reader {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		t.Fatal(err)
	}
	return zr
}

func TestEntriesRefusesUnsafeNamesLinksAndDuplicatesOnce(t *testing.T) {
	zr := zipOf(t,
		entry{name: "ok.txt", body: "x"},
		entry{name: "../out.txt"}, entry{name: "/abs.txt"}, entry{name: `a\b.txt`}, entry{name: "C:x"},
		entry{name: "link", body: "ok.txt", mode: fs.ModeSymlink | 0o777},
		entry{name: "twice.txt"}, entry{name: "twice.txt"}, entry{name: "twice.txt"},
		entry{name: "folder/"}, entry{name: "__MACOSX/._ok.txt"},
	)
	ok, problems := rules().Entries(zr.File)
	if len(ok) != 1 || ok[0].Name != "ok.txt" {
		t.Errorf("accepted %v, want only ok.txt", names(ok))
	}
	var got []string
	for _, p := range problems {
		if !errors.Is(p, errUnsafe) {
			t.Errorf("%v does not wrap the Unsafe sentinel", p)
		}
		got = append(got, p.Error())
	}
	want := []string{
		`../out.txt: absolute name, backslash or "..": refused`,
		`/abs.txt: absolute name, backslash or "..": refused`,
		`a\b.txt: absolute name, backslash or "..": refused`,
		`C:x: absolute name, backslash or "..": refused`,
		"link: symbolic link: refused",
		"twice.txt: name appears 3 times in the ZIP: refused",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func names(fs []*zip.File) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

func TestCheckSizeRefusesDeclaredSizeAndRatio(t *testing.T) {
	zr := zipOf(t, entry{name: "small", body: "abc"}, entry{name: "bomb", body: strings.Repeat("a", 10000)})
	r := rules()
	if err := r.CheckSize(zr.File[0], 3); err != nil {
		t.Errorf("3 bytes against a limit of 3: %v", err)
	}
	if err := r.CheckSize(zr.File[0], 2); !errors.Is(err, errBomb) {
		t.Errorf("3 bytes against a limit of 2: %v, want the Bomb sentinel", err)
	}
	if err := r.CheckSize(zr.File[1], 1<<20); !errors.Is(err, errBomb) || !strings.Contains(err.Error(), "times its compressed size") {
		t.Errorf("10000 repeated bytes at a ratio limit of 10: %v, want a ratio Bomb", err)
	}
}

func TestOpenStopsAtTheLimit(t *testing.T) {
	zr := zipOf(t, entry{name: "e", body: strings.Repeat("ab", 40)})
	r := rules()
	rc, err := r.Open(zr.File[0], 80)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	if err != nil || len(b) != 80 {
		t.Errorf("read %d bytes, %v; want all 80", len(b), err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	rc, err = r.Open(zr.File[0], 79)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadAll(rc); !errors.Is(err, errBomb) {
		t.Errorf("80 bytes read with a limit of 79: %v, want the Bomb sentinel", err)
	}
}
