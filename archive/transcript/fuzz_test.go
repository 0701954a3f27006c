package transcript

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkPaths asserts the containment promise of FileRef.Path: relative, clean, not climbing,
// and inside a root it is joined to.
func checkPaths(t *testing.T, c *Conversation) {
	t.Helper()
	const fakeRoot = "/fake/root"
	for _, e := range c.Events {
		for _, f := range e.Files {
			if (f.Path == "") == (f.Href == "") {
				t.Fatalf("file %+v: want exactly one of Path and Href", f)
			}
			if f.Name == "" || strings.ContainsAny(f.Name, "/\x00") {
				t.Fatalf("file %+v: bad Name", f)
			}
			if f.Href != "" {
				u, err := url.Parse(f.Href)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					t.Fatalf("file %+v: bad Href", f)
				}
				continue
			}
			p := f.Path
			if path.IsAbs(p) || path.Clean(p) != p || p == "." || p == ".." || strings.HasPrefix(p, "../") ||
				strings.ContainsAny(p, "\\\x00") {
				t.Fatalf("file %+v: Path is not clean, relative and inside the root", f)
			}
			if j := filepath.Join(fakeRoot, filepath.FromSlash(p)); !strings.HasPrefix(j, fakeRoot+"/") {
				t.Fatalf("file %+v: joined to %s gives %s", f, fakeRoot, j)
			}
		}
	}
}

// seedCorpus adds every testdata transcript of dir, under a few transcript paths.
func seedCorpus(f *testing.F, dir string) {
	for _, kind := range []string{"valid", "invalid"} {
		entries, err := os.ReadDir(filepath.Join("testdata", dir, kind))
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join("testdata", dir, kind, e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(e.Name(), data)
			f.Add("a/b/"+e.Name(), data)
		}
	}
}

func fuzzParse(t *testing.T, format Format, relPath string, data []byte) {
	c, err := format.Parse(relPath, data)
	if err != nil {
		var te *Error
		if c != nil || !errors.As(err, &te) || te.File != relPath || te.Reason == "" {
			t.Fatalf("Parse = %v, %v (%T); want nil and an *Error naming the file", c, err, err)
		}
		if strings.ContainsAny(err.Error(), "\n\r") {
			t.Fatalf("error message can forge log lines: %q", err.Error())
		}
		return
	}
	if c.Format != format.Name() || c.ID == "" || len(c.Events) == 0 {
		t.Fatalf("Parse returned %+v", c)
	}
	checkPaths(t, c)
	known := map[string]bool{}
	for _, p := range c.Participants {
		known[p.ID] = true
	}
	ids := map[string]bool{}
	for _, e := range c.Events {
		if !known[e.From] || ids[e.ID] || e.Time.IsZero() {
			t.Fatalf("event %+v: unknown sender, repeated id or no time", e)
		}
		ids[e.ID] = true
		for _, to := range e.To {
			if !known[to] {
				t.Fatalf("event %+v: unknown recipient", e)
			}
		}
	}
	again, err := format.Parse(relPath, data)
	if err != nil || !reflect.DeepEqual(c, again) {
		t.Fatalf("Parse is not deterministic: %+v, %v", again, err)
	}
}

func FuzzNative(f *testing.F) {
	seedCorpus(f, "native")
	f.Add("../up.transcript.json", []byte(doc(ev(`"type":"file","files":[{"path":"a.pdf"}]`))))
	f.Add("deep/er/x.transcript.json", []byte(doc(ev(`"type":"file","files":[{"path":"../../a.pdf"},{"path":"../../../a.pdf"}]`))))
	f.Fuzz(func(t *testing.T, relPath string, data []byte) {
		fuzzParse(t, Native{}, relPath, data)
	})
}

func FuzzGenesys(f *testing.F) {
	seedCorpus(f, "genesys")
	f.Add("x.genesys.json", []byte(gmsg(`"attachment":{"id":"D1","name":"a.pdf","size":3}`)))
	f.Fuzz(func(t *testing.T, relPath string, data []byte) {
		fuzzParse(t, Genesys{}, relPath, data)
	})
}

// FuzzJSON checks parseJSON against encoding/json: it accepts the same documents (less
// invalid UTF-8, duplicate keys and deep nesting, which it refuses on purpose) and reads the
// same values from them.
func FuzzJSON(f *testing.F) {
	seedCorpus(f, "native")
	seedCorpus(f, "genesys")
	for _, s := range []string{`"a\u00e9\ud83d\ude00\n"`, `-0.5e+10`, `[1,[2,{"a":null}]]`, `{"a":1,"a":2}`, "\"\\ud800\"", `[tru]`, `01`, `{"a" :1 , "b":[ ]}`} {
		f.Add("", []byte(s))
	}
	f.Fuzz(func(t *testing.T, _ string, data []byte) {
		v, err := parseJSON("f", data)
		body := bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
		valid := json.Valid(body) && utf8.Valid(body)
		if err != nil {
			if valid && !strings.Contains(err.Error(), "duplicate key") && !strings.Contains(err.Error(), "nested deeper") {
				t.Fatalf("parseJSON refused valid JSON: %v", err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error message can forge log lines: %q", err.Error())
			}
			return
		}
		if !valid {
			t.Fatalf("parseJSON accepted invalid JSON %q", data)
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatal(err)
		}
		if got := plain(v); !reflect.DeepEqual(got, want) {
			t.Fatalf("parseJSON read %#v, encoding/json %#v", got, want)
		}
	})
}

// plain converts a tree to what encoding/json decodes into an any (with UseNumber).
func plain(v *value) any {
	switch v.kind {
	case kindNull:
		return nil
	case kindBool:
		return v.bool
	case kindNumber:
		return json.Number(v.str)
	case kindString:
		return v.str
	case kindArray:
		a := make([]any, 0, len(v.elems))
		for _, e := range v.elems {
			a = append(a, plain(e))
		}
		return a
	default:
		m := make(map[string]any, len(v.keys))
		for i, k := range v.keys {
			m[k] = plain(v.elems[i])
		}
		return m
	}
}
