package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/transcript"
)

// line is an event in one comparable line.
func line(e transcript.Event) string {
	s := fmt.Sprintf("%s %s %s", e.Time.Format("15:04:05.000000"), e.Type, e.From)
	if e.To != nil {
		s += " to=" + strings.Join(e.To, ",")
	}
	if e.Text != "" {
		s += " text=" + e.Text
	}
	if e.SystemText != "" {
		s += " sys=" + strings.ReplaceAll(e.SystemText, "\n", " | ")
	}
	for _, f := range e.Files {
		s += fmt.Sprintf(" file=%s[%s%s %d]", f.Name, f.Entry, f.Href, f.Size)
	}
	return s
}

func TestWalkFixture(t *testing.T) {
	for _, prefix := range []string{"", "greenvault-export-2023/"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			ents := fixtureExport(t, prefix)
			if prefix != "" { // what macOS's Archive Utility adds next to the top folder
				ents = append(ents, zent{name: "__MACOSX/" + prefix + "._users.json", data: []byte("\x00\x05\x16\x07")})
			}
			x, err := openBytes(t, "exports/greenvault.zip", buildZip(t, ents...))
			if err != nil {
				t.Fatal(err)
			}
			checkFixture(t, x)
		})
	}
}

func checkFixture(t *testing.T, x *Export) {
	t.Helper()
	if x.Workspace() != team {
		t.Fatalf("Workspace = %q, want the users' majority team %q", x.Workspace(), team)
	}
	var order []string
	days := map[string][]*Day{}
	err := x.Walk(context.Background(), func(d *Day) error {
		order = append(order, d.Entry[strings.LastIndex(d.Entry[:len(d.Entry)-len("/2023-05-24.json")], "/")+1:])
		days[d.Conversation.folder] = append(days[d.Conversation.folder], d)
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	wantOrder := []string{"general/2023-05-24.json", "general/2023-05-25.json", "deals/2023-05-24.json",
		"mpdm-lisa--jordan--ghost-1/2023-05-24.json", "D01DM/2023-05-24.json"}
	if !slices.Equal(order, wantOrder) {
		t.Fatalf("day order %q, want %q (lists in order, days by date)", order, wantOrder)
	}
	want := map[string][]string{
		"general": {
			"10:00:00.000100 joined U02JORDAN sys=@Jordan Davies has joined the channel",
			"10:05:18.000100 message U01LISA text=Hi @Jordan Davies, see #deals and the Q3 page (https://example.com/q3?a=1&b=2). @here @risk x@example.com",
			"10:05:30.000000 message U02JORDAN text=Reading it now sys=Reply in the thread of Lisa Holmes's message of 2023-05-24 10:05:18 UTC.",
			"10:05:40.000000 message U01LISA text=Summary for @channel sys=Also sent to the channel. | Reply in the thread of Lisa Holmes's message of 2023-05-24 10:05:18 UTC.",
			"10:06:00.000300 message U02JORDAN text=Agreed & signed <3 sys=Edited 2023-05-24 10:06:30 UTC; this is the final text. | Reactions: :+1: Lisa Holmes, Former Employee.",
			"10:06:40.000000 message B99HOOK text=FIN-12 moved to Done",
			"10:06:50.000000 message U04BOT text=deploy ok",
			"10:08:20.000000 file U01LISA text=Q3 report file=Q3 report.pdf[__uploads/F01REPORT/Q3 report.pdf 19]",
			"10:08:30.000000 file U02JORDAN sys=File F02HIDDEN was not accessible to the exporter; the export did not contain it; linked to its Slack permalink. file=F02HIDDEN[https://greenvault.slack.com/files/U02JORDAN/F02HIDDEN/x -1]",
			"10:08:40.000000 notice USLACKBOT sys=A message was deleted; its thread replies were kept.",
			"10:10:00.000000 notice U01LISA sys=Huddle started by Lisa Holmes at 2023-05-24 10:10:00 UTC, ended at 2023-05-24 10:20:00 UTC (10m0s); participants: Lisa Holmes, Jordan Davies.",
			"10:11:40.000000 notice U01LISA sys=Lisa Holmes set the channel topic: Q3 & Q4",
			`10:13:20.000000 notice U02JORDAN sys=Slack event "reminder_add" from Jordan Davies: set up a reminder`,
			"10:15:00.000000 message U03GHOST text=my token is [Slack token removed]",
			"10:16:40.000000 message U77GONE text=I am not in users.json",
			// the next day: the thread parent's sender is remembered across days
			"07:33:20.000001 message W05EXT text=late reply sys=Reply in the thread of Lisa Holmes's message of 2023-05-24 10:05:18 UTC.",
		},
		"deals":                      {"09:53:20.000000 message U01LISA text=private"},
		"D01DM":                      {"09:53:21.000000 message U02JORDAN to=U01LISA text=just us"},
		"mpdm-lisa--jordan--ghost-1": {"09:53:22.000000 message U01LISA to=U02JORDAN,U03GHOST text=three of us"},
	}
	for folder, lines := range want {
		var got []string
		for _, d := range days[folder] {
			for _, e := range d.Events {
				got = append(got, line(e))
			}
		}
		if !slices.Equal(got, lines) {
			t.Errorf("%s:\n got %s\nwant %s", folder, strings.Join(got, "\n     "), strings.Join(lines, "\n     "))
		}
	}
	g := days["general"][0]
	if g.Conversation.Key != "T0GREEN/C01GENERAL" || g.Conversation.Title != "#general" || g.Conversation.Kind != KindChannel {
		t.Errorf("general conversation %+v", g.Conversation)
	}
	e := g.Events[1]
	if e.ID != "1684922718.000100" || e.Key != "slack/T0GREEN/C01GENERAL/1684922718.000100" || e.Time.UnixMilli() != 1684922718000 {
		t.Errorf("identity of the first message: ID %q Key %q eventTime %d", e.ID, e.Key, e.Time.UnixMilli())
	}
	tr := days["D01DM"][0].Transcript()
	if tr.Format != transcript.FormatSlack || tr.ID != "T0GREEN/D01DM" || tr.Title != "Direct message: Lisa Holmes, Jordan Davies" {
		t.Errorf("DM transcript %+v", tr)
	}
	wantP := []transcript.Participant{{ID: "U02JORDAN", DisplayName: "Jordan Davies"},
		{ID: "U01LISA", DisplayName: "Lisa Holmes", Email: "lisa.holmes@greenvaultcapital.com"}}
	if !slices.Equal(tr.Participants, wantP) {
		t.Errorf("DM participants %+v, want %+v", tr.Participants, wantP)
	}
	wantRoles := map[string]string{"B99HOOK": "Jira/bot", "U04BOT": "Deploy Bot/bot", "USLACKBOT": "Slackbot/bot",
		"U03GHOST": "Former Employee/", "U77GONE": "Gone User/"}
	for _, p := range g.Participants {
		if w, ok := wantRoles[p.ID]; ok && w != p.DisplayName+"/"+p.Role {
			t.Errorf("participant %s: %s/%s, want %s", p.ID, p.DisplayName, p.Role, w)
		}
	}
	// the file's bytes, through the export
	rc, err := x.OpenEntry(g.Events[7].Files[0].Entry)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if b, err := io.ReadAll(rc); err != nil || string(b) != pdf {
		t.Fatalf("upload bytes %q, %v", b, err)
	}
}

// TestTokenNeverReturned: the export token is in file URLs, a permalink and a message's text;
// none of what the reader returns, nor its errors, may hold it.
func TestTokenNeverReturned(t *testing.T) {
	ents := fixtureExport(t, "")
	// a folder named with the token, a missing upload and a broken day: errors name entries
	ents = append(ents, zent{name: "general/2023-05-26.json", data: []byte(`{"token":"` + token + `"}`)},
		zent{name: "general/2023-05-27.json", data: []byte(`[{"type":"message","user":"U01LISA","ts":"1685200000.000000",` +
			`"files":[{"id":"F09` + token + `","name":"a` + token + `.txt","url_private":"https://files.slack.com/x?t=` + token + `"}]}]`)},
		zent{name: "x" + token + "/2023-05-24.json", data: []byte(`[]`)},
		jsonEnt(t, "D01DM/2023-05-28.json", arr{obj{"type": "message", "user": token, "ts": "1685300000.000000", "text": "<@" + token + ">",
			"reactions": arr{obj{"name": "x", "users": arr{token}}}, "edited": obj{"user": token, "ts": "1685300001.000000"}},
			obj{"type": "message", "bot_id": token, "ts": "1685300002.000000"}, obj{"type": "message", "username": token, "ts": "1685300003.000000"}}))
	data := buildZip(t, ents...)
	if !bytes.Contains(data, []byte("xoxe")) {
		t.Fatal("fixture has no token")
	}
	x, err := openBytes(t, "exports/greenvault.zip", data)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	werr := x.Walk(context.Background(), func(d *Day) error {
		return json.NewEncoder(&out).Encode(d)
	})
	if werr == nil {
		t.Fatal("want problems")
	}
	out.WriteString(werr.Error())
	for _, p := range problems(t, werr) {
		fmt.Fprintf(&out, "%s %s %s", p.Entry, p.Reason, p.Error())
	}
	for _, c := range x.Conversations() {
		fmt.Fprintf(&out, "%+v", *c)
	}
	if strings.Contains(out.String(), "xoxe") {
		t.Fatalf("the token reached the output:\n%s", out.String())
	}
	if !strings.Contains(out.String(), TokenRemoved) {
		t.Fatal("the token in the message text was not replaced")
	}
}

func TestOpenFails(t *testing.T) {
	cases := []struct {
		name   string
		data   []byte
		target error
		reason string
	}{
		{"not a zip", []byte("PK\x03\x04 this is not a zip"), transcript.ErrInvalid, "exports/x.zip: not a readable ZIP"},
		{"empty zip", buildZip(t), ErrNotExport, "exports/x.zip: not a Slack export"},
		{"no channels.json", buildZip(t, jsonEnt(t, "users.json", arr{})), ErrNotExport, "not a Slack export"},
		{"two top folders", buildZip(t, jsonEnt(t, "a/users.json", arr{}), jsonEnt(t, "a/channels.json", arr{}),
			jsonEnt(t, "b/users.json", arr{})), ErrNotExport, "not a Slack export"},
		{"users.json not an array", buildZip(t, jsonEnt(t, "users.json", obj{}), jsonEnt(t, "channels.json", arr{})),
			transcript.ErrInvalid, "exports/x.zip: users.json: not a JSON array"},
		{"bad user", buildZip(t, jsonEnt(t, "users.json", arr{obj{"id": "U1"}, obj{"id": 5}}), jsonEnt(t, "channels.json", arr{})),
			transcript.ErrInvalid, "exports/x.zip: users.json: $[1]: json: cannot unmarshal number"},
		{"channel without name", buildZip(t, jsonEnt(t, "users.json", arr{}), jsonEnt(t, "channels.json", arr{obj{"id": "C1"}})),
			transcript.ErrInvalid, "channels.json: $[0]: a conversation without a usable id or name"},
		{"channel name climbs", buildZip(t, jsonEnt(t, "users.json", arr{}), jsonEnt(t, "channels.json", arr{obj{"id": "C1", "name": ".."}})),
			transcript.ErrInvalid, "channels.json: $[0]: a conversation without a usable id or name"},
		{"folder twice", buildZip(t, jsonEnt(t, "users.json", arr{}), jsonEnt(t, "channels.json", arr{obj{"id": "C1", "name": "a"}}),
			jsonEnt(t, "groups.json", arr{obj{"id": "G1", "name": "a"}})), transcript.ErrInvalid, `groups.json: $[0]: folder "a" is named twice`},
		{"truncated list", buildZip(t, zent{name: "users.json", data: []byte(`[{"id":"U1"},`)}, jsonEnt(t, "channels.json", arr{})),
			transcript.ErrInvalid, "users.json: $[1]: unexpected EOF"},
		{"list bomb", buildZip(t, jsonEnt(t, "users.json", arr{}), zent{name: "channels.json", data: bytes.Repeat([]byte(" "), 4<<20)}),
			ErrBomb, "channels.json: declared uncompressed size 4194304 bytes is more than 100 times"},
		{"symlinked users.json", buildZip(t, zent{name: "users.json", data: []byte("/etc/passwd"), mode: 0o777 | 1<<27},
			jsonEnt(t, "channels.json", arr{})), ErrNotExport, "(1 entries refused; the first: users.json: symbolic link: refused)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := openBytes(t, "exports/x.zip", c.data)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			var se *Error
			if !errors.As(err, &se) || !errors.Is(err, c.target) || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("error %q (%T), want an *Error wrapping %v containing %q", err, err, c.target, c.reason)
			}
		})
	}
}

// TestBadEntries: every bad entry is a problem naming the ZIP and the entry, and everything
// else of the export is still read.
func TestBadEntries(t *testing.T) {
	bomb := bytes.Repeat([]byte("[]"), 2<<20) // 4 MiB that deflates to a few KiB
	lying := append([]byte("["), bytes.Repeat([]byte(" "), 8<<20)...)
	ents := append(fixtureExport(t, ""),
		zent{name: "../evil/2023-05-24.json", data: []byte("[]")},
		zent{name: "/etc/2023-05-24.json", data: []byte("[]")},
		zent{name: "general\\..\\..\\x.json", data: []byte("[]")},
		zent{name: "general/2023-05-20.json", data: []byte("../../etc/passwd"), mode: 0o777 | 1<<27}, // symlink
		zent{name: "general/2023-05-21.json", data: []byte(`{"not":"an array"}`)},
		zent{name: "general/2023-05-22.json", data: []byte(`[{"type":"message","ts":"1684700000.000000","text":"ok before the break"},`)},
		zent{name: "general/2023-05-23.json", data: bomb},
		zent{name: "general/2023-05-26.json", data: lying, declared: 100},
		zent{name: "general/2023-05-27.json", data: []byte(`[{"type":"message","user":"U01LISA","text":"no ts"},` +
			`{"type":"message","user":"U01LISA","ts":"yesterday"},"a string",` +
			`{"type":"message","user":"U01LISA","ts":"1685145600.000000","text":"still here",` +
			`"files":[{"id":"F03LOST","name":"lost.xlsx","permalink":"https://greenvault.slack.com/files/U01LISA/F03LOST/lost.xlsx"}]}]`)},
		zent{name: "deals/2023-05-25.json", data: []byte("[]")},
		zent{name: "deals/2023-05-25.json", data: []byte(`[{"ts":"1.0"}]`)}, // the same name twice
		jsonEnt(t, "old-channel/2023-01-01.json", arr{obj{"type": "message", "ts": "1672531200.000000", "text": "unlisted"}}),
	)
	x, err := openBytes(t, "exports/bad.zip", buildZip(t, ents...))
	if err != nil {
		t.Fatal(err)
	}
	days, err := walkAll(t, x)
	if err == nil {
		t.Fatal("Walk found no problem")
	}
	for _, p := range problems(t, err) {
		if p.Zip != "exports/bad.zip" || p.Entry == "" || !strings.HasPrefix(p.Error(), "exports/bad.zip: ") {
			t.Errorf("problem %q does not name the ZIP and the entry", p)
		}
	}
	findProblem(t, err, "../evil/2023-05-24.json", "refused", ErrUnsafeEntry)
	findProblem(t, err, "/etc/2023-05-24.json", "refused", ErrUnsafeEntry)
	findProblem(t, err, "general\\..\\..\\x.json", "refused", ErrUnsafeEntry)
	findProblem(t, err, "general/2023-05-20.json", "symbolic link", ErrUnsafeEntry)
	findProblem(t, err, "general/2023-05-21.json", "not a JSON array", transcript.ErrInvalid)
	findProblem(t, err, "general/2023-05-22.json", "invalid JSON", transcript.ErrInvalid)
	findProblem(t, err, "general/2023-05-23.json", "more than 100 times its compressed size", ErrBomb)
	findProblem(t, err, "general/2023-05-26.json", "100 bytes", ErrBomb)
	findProblem(t, err, "general/2023-05-27.json", `$[0].ts: "" is not a Slack timestamp`, transcript.ErrInvalid)
	findProblem(t, err, "general/2023-05-27.json", `$[1].ts: "yesterday" is not a Slack timestamp`, transcript.ErrInvalid)
	findProblem(t, err, "general/2023-05-27.json", "$[2]: not a message", transcript.ErrInvalid)
	findProblem(t, err, "general/2023-05-27.json", "$[3].files[0]: file F03LOST (lost.xlsx) is not in the export's __uploads/F03LOST/", ErrMissingUpload)
	findProblem(t, err, "deals/2023-05-25.json", "appears 2 times", ErrUnsafeEntry)
	findProblem(t, err, "old-channel/", "do not name", ErrUnlisted)

	// what could be read was read
	var got []string
	for _, d := range days["general"] {
		got = append(got, d.Date)
	}
	if !slices.Equal(got, []string{"2023-05-24", "2023-05-25", "2023-05-27"}) {
		t.Fatalf("general days read: %q", got)
	}
	last := days["general"][2].Events[0]
	if line(last) != "00:00:00.000000 file U01LISA text=still here sys=File lost.xlsx: the export did not contain it; linked to its Slack permalink. file=lost.xlsx[https://greenvault.slack.com/files/U01LISA/F03LOST/lost.xlsx -1]" {
		t.Fatalf("message with a missing upload: %s", line(last))
	}
	if len(days["deals"]) != 1 || len(days["D01DM"]) != 1 {
		t.Fatalf("other conversations: deals %d days, DM %d days", len(days["deals"]), len(days["D01DM"]))
	}
}

func TestUploadBombRefused(t *testing.T) {
	ents := append(fixtureExport(t, ""), zent{name: "__uploads/F09BIG/zeros.bin", data: make([]byte, 2<<20)})
	data := buildZip(t, ents...)
	x, err := openBytes(t, "exports/x.zip", data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.OpenEntry("__uploads/F09BIG/zeros.bin"); err == nil {
		t.Fatal("a refused upload opened")
	}
	_, werr := walkAll(t, x)
	findProblem(t, werr, "__uploads/F09BIG/zeros.bin", "times its compressed size", ErrBomb)
	if _, err := x.OpenEntry("../users.json"); err == nil {
		t.Fatal("OpenEntry opened a non-upload")
	}
	// the actual bytes are bounded too, whatever the headers say
	lim := Limits{MaxUpload: 10}
	x, err = Open(bytes.NewReader(data), int64(len(data)), "exports/x.zip", Options{Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.OpenEntry("__uploads/F01REPORT/Q3 report.pdf"); err == nil {
		t.Fatal("an upload above MaxUpload opened")
	}
}

func TestWalkStops(t *testing.T) {
	x, err := openBytes(t, "exports/x.zip", buildZip(t, fixtureExport(t, "")...))
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	n := 0
	if err := x.Walk(context.Background(), func(*Day) error { n++; return stop }); err != stop || n != 1 {
		t.Fatalf("Walk = %v after %d days, want visit's error after 1", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := x.Walk(ctx, func(*Day) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Walk with a cancelled context = %v", err)
	}
}

func TestWorkspaceOverrideAndIdentityAcrossExports(t *testing.T) {
	data := buildZip(t, fixtureExport(t, "")...)
	x, err := Open(bytes.NewReader(data), int64(len(data)), "a.zip", Options{Workspace: "E0GRID"})
	if err != nil {
		t.Fatal(err)
	}
	days, _ := walkAll(t, x)
	if k := days["deals"][0].Events[0].Key; k != "slack/E0GRID/C02DEALS/1684922000.000000" {
		t.Fatalf("key %q", k)
	}
	// the same export in another top folder, under another name: the same keys
	a, _ := openBytes(t, "a.zip", data)
	b, _ := openBytes(t, "b.zip", buildZip(t, fixtureExport(t, "renamed/")...))
	da, _ := walkAll(t, a)
	db, _ := walkAll(t, b)
	for folder := range da {
		for i := range da[folder] {
			for j, e := range da[folder][i].Events {
				if e.Key != db[folder][i].Events[j].Key {
					t.Fatalf("key %q vs %q", e.Key, db[folder][i].Events[j].Key)
				}
			}
		}
	}
}

func TestEnterpriseGridOrgUsers(t *testing.T) {
	ents := []zent{
		jsonEnt(t, "users.json", arr{}),
		jsonEnt(t, "org_users.json", arr{obj{"id": "W01ORG", "name": "ann", "profile": obj{"real_name": "Ann Org", "email": "ann@example.com"}}}),
		jsonEnt(t, "channels.json", arr{obj{"id": "C1", "name": "grid"}}),
		jsonEnt(t, "grid/2023-05-24.json", arr{obj{"type": "message", "user": "W01ORG", "ts": "1684922000.5", "text": "hi <@W01ORG>"}}),
	}
	x, err := openBytes(t, "grid.zip", buildZip(t, ents...))
	if err != nil {
		t.Fatal(err)
	}
	days, err := walkAll(t, x)
	if err != nil {
		t.Fatal(err)
	}
	d := days["grid"][0]
	if line(d.Events[0]) != "09:53:20.500000 message W01ORG text=hi @Ann Org" || d.Participants[0].Email != "ann@example.com" {
		t.Fatalf("%s %+v", line(d.Events[0]), d.Participants)
	}
	if d.Events[0].ID != "1684922000.500000" || x.Workspace() != "" || d.Events[0].Key != "slack//C1/1684922000.500000" {
		t.Fatalf("id %q workspace %q key %q", d.Events[0].ID, x.Workspace(), d.Events[0].Key)
	}
}

// TestKindsFromFlags: an exporter that lists everything in channels.json still gets DMs and
// group DMs their recipients, and the DM its folder by id.
func TestKindsFromFlags(t *testing.T) {
	ents := []zent{
		jsonEnt(t, "users.json", fixtureUsers()),
		jsonEnt(t, "channels.json", arr{
			obj{"id": "C1", "name": "secret", "is_private": true, "members": arr{"U01LISA"}},
			obj{"id": "G2", "name": "mpdm-a--b-1", "is_mpim": true, "members": arr{"U01LISA", "U02JORDAN"}},
			obj{"id": "D3", "is_im": true, "members": arr{"U01LISA", "U02JORDAN"}},
		}),
		jsonEnt(t, "secret/2023-05-24.json", arr{obj{"type": "message", "user": "U01LISA", "ts": "1684922000.000000", "text": "a"}}),
		jsonEnt(t, "mpdm-a--b-1/2023-05-24.json", arr{obj{"type": "message", "user": "U01LISA", "ts": "1684922000.000000", "text": "b"}}),
		jsonEnt(t, "D3/2023-05-24.json", arr{obj{"type": "message", "user": "U02JORDAN", "ts": "1684922000.000000", "text": "c"}}),
	}
	x, err := openBytes(t, "x.zip", buildZip(t, ents...))
	if err != nil {
		t.Fatal(err)
	}
	days, err := walkAll(t, x)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, f := range []string{"secret", "mpdm-a--b-1", "D3"} {
		d := days[f][0]
		got = append(got, string(d.Conversation.Kind)+" "+line(d.Events[0]))
	}
	want := []string{"private 09:53:20.000000 message U01LISA text=a",
		"mpim 09:53:20.000000 message U01LISA to=U02JORDAN text=b",
		"dm 09:53:20.000000 message U02JORDAN to=U01LISA text=c"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestRender(t *testing.T) {
	x := &Export{users: map[string]*user{"U1": {ID: "U1", Name: "lisa", Profile: struct {
		RealName    string `json:"real_name"`
		DisplayName string `json:"display_name"`
		Email       string `json:"email"`
		BotID       string `json:"bot_id"`
	}{RealName: "Lisa Holmes"}}}, channels: map[string]string{"C1": "general"}}
	cases := map[string]string{
		"<@U1>":         "@Lisa Holmes",
		"<@U1|lisa>":    "@Lisa Holmes",
		"<@U9|someone>": "@someone",
		"<@U9>":         "@U9",
		"<#C1>":         "#general",
		"<#C1|renamed>": "#renamed",
		"<#C9>":         "#C9",
		"<!here> <!here|here> <!channel> <!everyone>":        "@here @here @channel @everyone",
		"<!subteam^S1|@risk-team>":                           "@risk-team",
		"<!subteam^S1>":                                      "@S1",
		"<!date^1392734382^{date}|Feb 18>":                   "Feb 18",
		"<https://x.example/a?b=1&amp;c=2|label &amp; more>": "label & more (https://x.example/a?b=1&c=2)",
		"<https://x.example>":                                "https://x.example",
		"<https://x.example|https://x.example>":              "https://x.example",
		"<mailto:a@example.com|a@example.com>":               "a@example.com",
		"a &lt;b&gt; &amp;amp; c":                            "a <b> &amp; c",
		"unclosed <@U1":                                      "unclosed <@U1",
		"  spaced  ":                                         "spaced",
		"2 > 1 &gt; 0":                                       "2 > 1 > 0",
	}
	for in, want := range cases {
		if got := x.render(in); got != want {
			t.Errorf("render(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseTS(t *testing.T) {
	good := map[string]string{"1684922718.000100": "1684922718.000100", "1684922718": "1684922718.000000",
		"1684922718.5": "1684922718.500000", "1684922718.123456789": "1684922718.123456"}
	for in, want := range good {
		got, err := parseTS(in)
		if err != nil || got.canon != want {
			t.Errorf("parseTS(%q) = %q, %v; want %q", in, got.canon, err, want)
		}
	}
	for _, in := range []string{"", ".5", "-1.0", "1e9", "1684922718.", "1684922718.x", "999999999999.0", " 1.0"} {
		if _, err := parseTS(in); err == nil && in != "1684922718." {
			t.Errorf("parseTS(%q) accepted", in)
		}
	}
	if tm, _ := parseTS("1684922718.000100"); !tm.time().Equal(time.Date(2023, 5, 24, 10, 5, 18, 100_000, time.UTC)) {
		t.Errorf("time %v", tm.time())
	}
}
