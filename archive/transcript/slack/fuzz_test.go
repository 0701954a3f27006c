package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"path"
	"testing"
)

// checkDay asserts what every Day promises, whatever the input.
func checkDay(t *testing.T, d *Day) {
	t.Helper()
	ids := map[string]bool{}
	for i, e := range d.Events {
		if ids[e.ID] || e.ID == "" || e.Key == "" {
			t.Fatalf("event %d: ID %q not unique or empty (Key %q)", i, e.ID, e.Key)
		}
		ids[e.ID] = true
		if i > 0 && e.Time.Before(d.Events[i-1].Time) {
			t.Fatalf("event %d is before event %d", i, i-1)
		}
		if e.From == "" || e.Type == "" {
			t.Fatalf("event %d has no sender or type: %+v", i, e)
		}
		for _, f := range e.Files {
			if (f.Entry == "") == (f.Href == "") || f.Path != "" || f.Name == "" {
				t.Fatalf("event %d: file %+v: want exactly one of Entry and Href, and a name", i, f)
			}
			if f.Href != "" {
				u, err := url.Parse(f.Href)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Query().Has("t") {
					t.Fatalf("event %d: bad Href %q", i, f.Href)
				}
			}
		}
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if tokenRE.Match(b) {
		t.Fatalf("a token reached the output: %s", b)
	}
}

func fuzzWalk(t *testing.T, data []byte) {
	x, err := Open(bytes.NewReader(data), int64(len(data)), "fuzz.zip", Options{Limits: Limits{MaxDayFile: 1 << 20, MaxList: 1 << 20, MaxUpload: 1 << 20}})
	if err != nil {
		if tokenRE.MatchString(err.Error()) {
			t.Fatalf("a token reached an error: %v", err)
		}
		return
	}
	werr := x.Walk(context.Background(), func(d *Day) error {
		checkDay(t, d)
		return nil
	})
	if werr != nil && tokenRE.MatchString(werr.Error()) {
		t.Fatalf("a token reached an error: %v", werr)
	}
}

// FuzzSlackDay fuzzes one day file inside an otherwise valid export.
func FuzzSlackDay(f *testing.F) {
	for _, e := range fixtureExport(f, "") {
		if isDayFile(path.Base(e.name)) {
			f.Add(e.data)
		}
	}
	for _, s := range []string{`[]`, `{}`, `[null]`, `[{"ts":"1.0"},{"ts":"1.0"}]`, `[{"ts":"1.1","thread_ts":"x","edited":{"ts":"y"}}]`,
		`[{"ts":"2.0","text":"<@U01LISA|<#C1|<!x>>> &amp;lt; <https://a.example?t=xoxe-1-2|x>"}]`,
		`[{"ts":"3.0","files":[{"id":"F01REPORT","name":"../../x"},{"id":"F9","name":"","permalink":"javascript:alert(1)"}]}]`,
		`[{"ts":"4.0","subtype":"huddle_thread","room":{"date_start":-1,"date_end":99999999999999}}]`,
		`[{"ts":"5.0","user":"xoxe-1-a","bot_id":"xoxb-2","parent_user_id":"xoxp-3","thread_ts":"4.0","reactions":[{"name":"xoxe-9","users":["xoxe-7"]}]}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, day []byte) {
		ents := fixtureExport(t, "")
		ents = append(ents, zent{name: "general/2023-06-01.json", data: day})
		fuzzWalk(t, buildZip(t, ents...))
	})
}

// FuzzSlackZip fuzzes the ZIP itself.
func FuzzSlackZip(f *testing.F) {
	f.Add(buildZip(f, fixtureExport(f, "")...))
	f.Add(buildZip(f, fixtureExport(f, "top/")...))
	f.Add(buildZip(f, jsonEnt(f, "users.json", arr{}), jsonEnt(f, "channels.json", arr{obj{"id": "C1", "name": "a"}}),
		zent{name: "a/2023-01-01.json", data: []byte(`[{"ts":"1.0","text":"x"}]`)}))
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzWalk(t, data)
	})
}
