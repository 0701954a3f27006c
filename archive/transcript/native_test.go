package transcript

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UTC()
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// The example of the issue and of docs/transcript-format.md, to the last field.
func TestNativeExample(t *testing.T) {
	data := readTestdata(t, "native/valid/example.transcript.json")
	got, err := Native{}.Parse("exports/c1.transcript.json", data)
	if err != nil {
		t.Fatal(err)
	}
	want := &Conversation{
		Format:    "native",
		Version:   1,
		ID:        "c-1",
		Title:     "Q3 review",
		CreatedAt: mustTime(t, "2023-05-24T10:00:00Z"),
		Participants: []Participant{
			{ID: "jordan", DisplayName: "Jordan Davies", Email: "jordan.davies@greenvaultcapital.com"},
			{ID: "lisa", DisplayName: "Lisa Holmes", Email: "lisa.holmes@greenvaultcapital.com"},
		},
		Events: []Event{
			{ID: "m1", Time: mustTime(t, "2023-05-24T10:05:18Z"), Type: "message", From: "jordan", Text: "see attached"},
			{ID: "f1", Time: mustTime(t, "2023-05-24T10:05:20Z"), Type: "file", From: "jordan", To: []string{"lisa"},
				Text: "take a look", SystemText: "User shared a file.",
				Files: []FileRef{{Path: "exports/attachments/Q3-report-2023.pdf", Name: "Q3-report-2023.pdf", Size: -1, JSONPath: "$.events[1].files[0]"}}},
			{ID: "f2", Time: mustTime(t, "2023-05-24T10:06:00Z"), Type: "file", From: "lisa",
				Files: []FileRef{{Href: "https://files.example.com/big.zip", Name: "big.zip", Size: -1, JSONPath: "$.events[2].files[0]"}}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse:\n got %+v\nwant %+v", got, want)
	}
}

func TestNativeEpochTimesAndPathsThatStayInside(t *testing.T) {
	data := readTestdata(t, "native/valid/epoch-and-climb-inside.transcript.json")
	got, err := Native{}.Parse("team/desk/e.transcript.json", data)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.UnixMilli(1684922400000).UTC(); !got.CreatedAt.Equal(want) {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want)
	}
	if want := time.UnixMilli(1684922718000).UTC(); got.Events[0].Time != want {
		t.Errorf("events[0].Time = %v, want %v", got.Events[0].Time, want)
	}
	if want := mustTime(t, "2023-05-24T10:05:20.123Z"); got.Events[1].Time != want {
		t.Errorf("events[1].Time = %v, want %v (UTC)", got.Events[1].Time, want)
	}
	if got.Participants[1].Email != "" {
		t.Errorf("null email = %q, want \"\"", got.Participants[1].Email)
	}
	want := []FileRef{
		{Path: "team/shared/plan.pdf", Name: "Plan (final).pdf", Size: 1048576, JSONPath: "$.events[1].files[0]"},
		{Path: "team/desk/pics/photo 1.jpg", Name: "photo 1.jpg", Size: 0, JSONPath: "$.events[1].files[1]"},
		{Href: "http://intranet.example.com/docs/spec%20v2.docx", Name: "spec v2.docx", Size: -1, JSONPath: "$.events[1].files[2]"},
	}
	if !reflect.DeepEqual(got.Events[1].Files, want) {
		t.Errorf("files:\n got %+v\nwant %+v", got.Events[1].Files, want)
	}
}

func TestNativeByteOrderMark(t *testing.T) {
	if _, err := (Native{}).Parse("bom.transcript.json", readTestdata(t, "native/valid/bom.transcript.json")); err != nil {
		t.Fatal(err)
	}
}

// doc builds a native transcript with participants jordan and lisa around events.
func doc(events string) string {
	return `{"version":1,"conversation":{"id":"c-1"},"participants":[{"id":"jordan","displayName":"Jordan"},{"id":"lisa","displayName":"Lisa"}],"events":[` + events + `]}`
}

// ev builds one event from jordan at a valid time with the given extra members.
func ev(extra string) string {
	return `{"id":"e1","time":"2023-05-24T10:05:18Z","from":"jordan",` + extra + `}`
}

func TestNativeRules(t *testing.T) {
	const file = "exports/c1.transcript.json"
	tests := []struct {
		name     string
		json     string
		jsonPath string
		reason   string
		is       error // ErrInvalid unless set
	}{
		// JSON itself.
		{"empty file", ``, "$", "invalid JSON at line 1, column 1: unexpected end of input", nil},
		{"truncated", `{"version":1,`, "$", "invalid JSON at line 1, column 14: unexpected end of input", nil},
		{"syntax error names the container and the line", "{\"version\":1,\n\"conversation\":{\"id\":\"c-1\",}}", "$.conversation",
			"invalid JSON at line 2, column 28: invalid character '}' looking for beginning of object key string", nil},
		{"trailing data", "{\"version\":1}\n{}", "$", "invalid JSON at line 2, column 1: unexpected data after the top-level value", nil},
		{"syntax error deep inside", "{\"version\":1,\n \"x\":{\"y\":[1,\n 2 3]}}", "$.x.y",
			"invalid JSON at line 3, column 4: invalid character '3' after array element", nil},
		{"invalid character in a string", "{\"version\":1,\"x\":\"a\tb\"}", "$.x", "invalid JSON at line 1, column 20: invalid character '\\t' in string literal", nil},
		{"trailing comma", "{\"version\":1},", "$", "invalid JSON at line 1, column 14: unexpected data after the top-level value", nil},
		{"invalid UTF-8", "{\"version\":1,\"x\":\"\xff\"}", "$", "invalid JSON at line 1, column 19: invalid UTF-8", nil},
		{"not an object", `[1]`, "$", "want an object, got array", nil},
		{"duplicate key", `{"version":1,"version":1}`, "$.version", "duplicate key at line 1, column 14", nil},
		{"duplicate key in a large object", `{"version":1,"x":{"k0":0,"k1":0,"k2":0,"k3":0,"k4":0,"k5":0,"k6":0,"k7":0,"k8":0,"k9":0,"ka":0,"kb":0,"kc":0,"kd":0,"ke":0,"kf":0,"kg":0,"k3":1}}`,
			"$.x.k3", "duplicate key at line 1, column 138", nil},
		{"syntax error after a member", `{"version":1 "x":1}`, "$", "invalid JSON at line 1, column 14: invalid character '\"' after object key:value pair", nil},
		{"too deep", `{"version":1,"x":` + strings.Repeat("[", 40), "$.x[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]",
			"nested deeper than 32 levels at line 1, column 50", nil},
		{"too many values", `{"version":1,"x":[` + strings.Repeat("0,", maxValues) + `0]}`, fmt.Sprintf("$.x[%d]", maxValues-3),
			fmt.Sprintf("more than %d JSON values at line 1, column %d; split the transcript", maxValues, 19+2*(maxValues-3)), nil},

		// Version.
		{"version missing", `{"conversation":{"id":"c-1"}}`, "$.version", "is required (supported: 1)", nil},
		{"version 2", `{"version":2,"brandNew":true}`, "$.version", "unsupported version 2 (supported: 1)", nil},
		{"version string", `{"version":"1"}`, "$.version", `unsupported version "1" (supported: 1)`, nil},
		{"version 1.0", `{"version":1.0}`, "$.version", "unsupported version 1.0 (supported: 1)", nil},
		{"unknown top-level field", `{"version":1,"conversation":{"id":"c-1"},"extra":1}`, "$.extra",
			"unknown field (known: version, conversation, participants, events)", nil},
		{"odd key names are quoted", `{"version":1,"a b":1}`, `$["a b"]`, "unknown field (known: version, conversation, participants, events)", nil},

		// Conversation.
		{"conversation missing", `{"version":1}`, "$.conversation", "is required", nil},
		{"conversation not an object", `{"version":1,"conversation":"c-1"}`, "$.conversation", "want an object, got string", nil},
		{"conversation unknown field", `{"version":1,"conversation":{"id":"c-1","topic":"x"}}`, "$.conversation.topic",
			"unknown field (known: id, title, createdAt)", nil},
		{"conversation id missing", `{"version":1,"conversation":{"title":"x"}}`, "$.conversation.id", "is required", nil},
		{"conversation id empty", `{"version":1,"conversation":{"id":""}}`, "$.conversation.id", "is empty", nil},
		{"conversation id control character", `{"version":1,"conversation":{"id":"a\nb"}}`, "$.conversation.id", `"a\nb" contains a control character`, nil},
		{"conversation id too long", `{"version":1,"conversation":{"id":"` + strings.Repeat("x", 257) + `"}}`, "$.conversation.id",
			`"` + strings.Repeat("x", 80) + `"... is longer than 256 bytes`, nil},
		{"title not a string", `{"version":1,"conversation":{"id":"c-1","title":7}}`, "$.conversation.title", "want a string, got number", nil},
		{"createdAt bad", `{"version":1,"conversation":{"id":"c-1","createdAt":"yesterday"}}`, "$.conversation.createdAt",
			`"yesterday" is not an RFC 3339 time (like "2023-05-24T10:05:18Z")`, nil},

		// Participants.
		{"participants missing", `{"version":1,"conversation":{"id":"c-1"}}`, "$.participants", "is required", nil},
		{"participants not an array", `{"version":1,"conversation":{"id":"c-1"},"participants":{}}`, "$.participants", "want an array, got object", nil},
		{"participants empty", `{"version":1,"conversation":{"id":"c-1"},"participants":[]}`, "$.participants", "is empty; a conversation needs participants", nil},
		{"participant not an object", `{"version":1,"conversation":{"id":"c-1"},"participants":["jordan"]}`, "$.participants[0]", "want an object, got string", nil},
		{"participant id missing", `{"version":1,"conversation":{"id":"c-1"},"participants":[{"displayName":"J"}]}`, "$.participants[0].id", "is required", nil},
		{"participant id duplicate", `{"version":1,"conversation":{"id":"c-1"},"participants":[{"id":"j","displayName":"J"},{"id":"j","displayName":"K"}]}`,
			"$.participants[1].id", `"j" is also $.participants[0].id`, nil},
		{"displayName missing", `{"version":1,"conversation":{"id":"c-1"},"participants":[{"id":"j"}]}`, "$.participants[0].displayName", "is required", nil},
		{"displayName empty", `{"version":1,"conversation":{"id":"c-1"},"participants":[{"id":"j","displayName":""}]}`, "$.participants[0].displayName", "is empty", nil},
		{"email invalid", `{"version":1,"conversation":{"id":"c-1"},"participants":[{"id":"j","displayName":"J","email":"Jordan <j@example.com>"}]}`,
			"$.participants[0].email", `"Jordan <j@example.com>" is not an email address (like "name@example.com")`, nil},
		{"participant unknown field", `{"version":1,"conversation":{"id":"c-1"},"participants":[{"id":"j","displayName":"J","role":"Agent"}]}`,
			"$.participants[0].role", "unknown field (known: id, displayName, email)", nil},

		// Events.
		{"events missing", `{"version":1,"conversation":{"id":"c-1"},"participants":[{"id":"j","displayName":"J"}]}`, "$.events", "is required", nil},
		{"events empty", doc(``), "$.events", "is empty; there is nothing to archive", nil},
		{"event unknown field", doc(ev(`"type":"message","text":"x","colour":"red"`)), "$.events[0].colour",
			"unknown field (known: id, time, type, from, to, text, systemText, files)", nil},
		{"event id missing", doc(`{"time":"2023-05-24T10:05:18Z","type":"message","from":"jordan","text":"x"}`), "$.events[0].id", "is required", nil},
		{"event id not a string", doc(`{"id":1,"time":"2023-05-24T10:05:18Z","type":"message","from":"jordan","text":"x"}`), "$.events[0].id", "want a string, got number", nil},
		{"event id duplicate", doc(ev(`"type":"message","text":"x"`) + `,` + ev(`"type":"message","text":"y"`)), "$.events[1].id", `"e1" is also $.events[0].id`, nil},

		// Times.
		{"time missing", doc(`{"id":"e1","type":"message","from":"jordan","text":"x"}`), "$.events[0].time", "is required", nil},
		{"time null", doc(`{"id":"e1","time":null,"type":"message","from":"jordan","text":"x"}`), "$.events[0].time", "is required", nil},
		{"time without zone", doc(`{"id":"e1","time":"2023-05-24T10:05:18","type":"message","from":"jordan","text":"x"}`), "$.events[0].time",
			`"2023-05-24T10:05:18" is not an RFC 3339 time (like "2023-05-24T10:05:18Z")`, nil},
		{"time as numeric string", doc(`{"id":"e1","time":"1684922718000","type":"message","from":"jordan","text":"x"}`), "$.events[0].time",
			`"1684922718000" is a string of digits; epoch milliseconds must be a JSON number, not a string`, nil},
		{"time in epoch seconds", doc(`{"id":"e1","time":1684922718,"type":"message","from":"jordan","text":"x"}`), "$.events[0].time",
			"1684922718 is before 1973-03-03 in epoch milliseconds (epoch seconds? times are milliseconds)", nil},
		{"time with fraction", doc(`{"id":"e1","time":1684922718000.5,"type":"message","from":"jordan","text":"x"}`), "$.events[0].time",
			"1684922718000.5 is not a whole number of epoch milliseconds", nil},
		{"time after 9999", doc(`{"id":"e1","time":253402300800000,"type":"message","from":"jordan","text":"x"}`), "$.events[0].time",
			"253402300800000 is after year 9999 in epoch milliseconds", nil},
		{"time before 1970", doc(`{"id":"e1","time":"1969-12-31T23:59:59Z","type":"message","from":"jordan","text":"x"}`), "$.events[0].time",
			`"1969-12-31T23:59:59Z" is outside 1970..9999`, nil},
		{"time boolean", doc(`{"id":"e1","time":true,"type":"message","from":"jordan","text":"x"}`), "$.events[0].time",
			"want an RFC 3339 string or epoch milliseconds, got boolean", nil},

		// Type, from, to.
		{"type missing", doc(ev(`"text":"x"`)), "$.events[0].type", "is required", nil},
		{"type unknown", doc(ev(`"type":"note","text":"x"`)), "$.events[0].type", `"note" is not an event type (message, file)`, nil},
		{"from missing", doc(`{"id":"e1","time":"2023-05-24T10:05:18Z","type":"message","text":"x"}`), "$.events[0].from", "is required", nil},
		{"from unknown", doc(`{"id":"e1","time":"2023-05-24T10:05:18Z","type":"message","from":"mallory","text":"x"}`), "$.events[0].from",
			`"mallory" is not a participant id`, nil},
		{"to empty", doc(ev(`"type":"message","text":"x","to":[]`)), "$.events[0].to", `is empty; leave "to" out to share with everyone`, nil},
		{"to unknown", doc(ev(`"type":"message","text":"x","to":["lisa","bob"]`)), "$.events[0].to[1]", `"bob" is not a participant id`, nil},
		{"to twice", doc(ev(`"type":"message","text":"x","to":["lisa","lisa"]`)), "$.events[0].to[1]", `"lisa" is also $.events[0].to[0]`, nil},
		{"to not ids", doc(ev(`"type":"message","text":"x","to":[{"id":"lisa"}]`)), "$.events[0].to[0]", "want a participant id, got object", nil},
		{"to a string", doc(ev(`"type":"message","text":"x","to":"lisa"`)), "$.events[0].to", "want an array, got string", nil},

		// Message and file content.
		{"message without text", doc(ev(`"type":"message","systemText":"x"`)), "$.events[0].text", "is required for a message", nil},
		{"message with files", doc(ev(`"type":"message","text":"x","files":[{"path":"a.pdf"}]`)), "$.events[0].files", "only file events have files", nil},
		{"file without files", doc(ev(`"type":"file"`)), "$.events[0].files", "is required for a file event", nil},
		{"file with empty files", doc(ev(`"type":"file","files":[]`)), "$.events[0].files", "is empty; a file event needs at least one file", nil},
		{"file entry not an object", doc(ev(`"type":"file","files":["a.pdf"]`)), "$.events[0].files[0]", "want an object, got string", nil},
		{"file with path and href", doc(ev(`"type":"file","files":[{"path":"a.pdf","href":"https://x.example/a.pdf"}]`)), "$.events[0].files[0]",
			"has both path and href; give exactly one", nil},
		{"file with neither", doc(ev(`"type":"file","files":[{"name":"a.pdf"}]`)), "$.events[0].files[0]",
			"needs a path (a file next to the transcript) or an href (a link)", nil},
		{"file unknown field", doc(ev(`"type":"file","files":[{"path":"a.pdf","mime":"application/pdf"}]`)), "$.events[0].files[0].mime",
			"unknown field (known: path, href, name, size)", nil},

		// Paths.
		{"path climbs out", doc(ev(`"type":"file","files":[{"path":"../../etc/passwd"}]`)), "$.events[0].files[0].path",
			`"../../etc/passwd" climbs out of the watch root`, nil},
		{"path climbs out after going down", doc(ev(`"type":"file","files":[{"path":"a/../../../x"}]`)), "$.events[0].files[0].path",
			`"a/../../../x" climbs out of the watch root`, nil},
		{"path absolute", doc(ev(`"type":"file","files":[{"path":"/etc/passwd"}]`)), "$.events[0].files[0].path",
			`"/etc/passwd" is absolute; it must be relative`, nil},
		{"path with backslash", doc(ev(`"type":"file","files":[{"path":"..\\..\\x"}]`)), "$.events[0].files[0].path",
			`"..\\..\\x" contains a backslash; folders are separated by "/"`, nil},
		{"path with NUL", doc(ev(`"type":"file","files":[{"path":"a\u0000b"}]`)), "$.events[0].files[0].path", "contains a NUL byte", nil},
		{"path empty", doc(ev(`"type":"file","files":[{"path":""}]`)), "$.events[0].files[0].path", "is empty", nil},
		{"path a folder", doc(ev(`"type":"file","files":[{"path":"attachments/"}]`)), "$.events[0].files[0].path",
			`"attachments/" names a folder, not a file`, nil},
		{"path the transcript's folder", doc(ev(`"type":"file","files":[{"path":"."}]`)), "$.events[0].files[0].path",
			`"." names a folder, not a file`, nil},
		{"path the parent folder", doc(ev(`"type":"file","files":[{"path":".."}]`)), "$.events[0].files[0].path",
			`".." names a folder, not a file`, nil},
		{"path not a string", doc(ev(`"type":"file","files":[{"path":["a"]}]`)), "$.events[0].files[0].path", "want a string, got array", nil},

		// Links, names, sizes.
		{"href not http", doc(ev(`"type":"file","files":[{"href":"file:///etc/passwd","name":"p"}]`)), "$.events[0].files[0].href",
			`"file:///etc/passwd" is not an http or https URL`, nil},
		{"href without host", doc(ev(`"type":"file","files":[{"href":"https:///a.zip"}]`)), "$.events[0].files[0].href",
			`"https:///a.zip" has no host`, nil},
		{"href not a URL", doc(ev(`"type":"file","files":[{"href":"http://a b/"}]`)), "$.events[0].files[0].href",
			`"http://a b/" is not a URL`, nil},
		{"href without file name", doc(ev(`"type":"file","files":[{"href":"https://files.example.com/"}]`)), "$.events[0].files[0].name",
			"is required: the link's URL does not end in a file name", nil},
		{"name with slash", doc(ev(`"type":"file","files":[{"path":"a.pdf","name":"../b.pdf"}]`)), "$.events[0].files[0].name",
			`"../b.pdf" must be a file name without "/", "\" or NUL`, nil},
		{"name empty", doc(ev(`"type":"file","files":[{"path":"a.pdf","name":""}]`)), "$.events[0].files[0].name", "is empty", nil},
		{"name dots", doc(ev(`"type":"file","files":[{"path":"a.pdf","name":".."}]`)), "$.events[0].files[0].name", `".." is not a file name`, nil},
		{"size negative", doc(ev(`"type":"file","files":[{"path":"a.pdf","size":-1}]`)), "$.events[0].files[0].size",
			"-1 is not a size in bytes (a whole number, 0 or more)", nil},
		{"size a string", doc(ev(`"type":"file","files":[{"path":"a.pdf","size":"10"}]`)), "$.events[0].files[0].size", "want a number, got string", nil},
		{"size over 1.0 GB", doc(ev(`"type":"file","files":[{"path":"a.iso","size":1073741825}]`)), "$.events[0].files[0].size",
			"1073741825 bytes is over the 1.0 GB attachment limit (1073741824 bytes)", ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Native{}.Parse(file, []byte(tt.json))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", c)
			}
			wantIs := tt.is
			if wantIs == nil {
				wantIs = ErrInvalid
			}
			assertError(t, err, file, tt.jsonPath, tt.reason, wantIs)
		})
	}
}

func assertError(t *testing.T, err error, file, jsonPath, reason string, is error) {
	t.Helper()
	var te *Error
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if te.File != file || te.JSONPath != jsonPath || te.Reason != reason {
		t.Errorf("error\n got file %q, path %q, reason %q\nwant file %q, path %q, reason %q", te.File, te.JSONPath, te.Reason, file, jsonPath, reason)
	}
	if is != nil && !errors.Is(err, is) {
		t.Errorf("error %v does not wrap %v", err, is)
	}
	want := file + ": " + reason
	if jsonPath != "" {
		want = file + ": " + jsonPath + ": " + reason
	}
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestTranscriptPathMustBeInsideTheRoot(t *testing.T) {
	for _, f := range Formats() {
		for _, rel := range []string{"../x.transcript.json", "/abs/x.transcript.json", `a\..\x.transcript.json`, ""} {
			t.Run(fmt.Sprintf("%s %q", f.Name(), rel), func(t *testing.T) {
				_, err := f.Parse(rel, readTestdata(t, "native/valid/example.transcript.json"))
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Parse(%q) = %v, want ErrInvalid", rel, err)
				}
				var te *Error
				if errors.As(err, &te); te.JSONPath != "" || !strings.HasPrefix(te.Reason, "transcript path ") {
					t.Errorf("error = %#v", te)
				}
			})
		}
	}
}

func TestErrorQuotesUnprintableFileNames(t *testing.T) {
	err := &Error{File: "a\nb.transcript.json", JSONPath: "$", Reason: "r"}
	if got, want := err.Error(), `"a\nb.transcript.json": $: r`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
