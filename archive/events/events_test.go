package events

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/transcript"
	"github.com/archivist-project/archivist/journal"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata with what the builders produce")

// golden compares v, as indented JSON, with testdata/name (or rewrites it with -update).
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what was built (go test -update rewrites it after a deliberate change):\n%s", path, got)
	}
}

var teams = Source{Watch: "teams", SenderName: "Teams export", SenderEmail: "archive@example.com", InlineImages: true}

var discovered = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestLooseFilesGolden(t *testing.T) {
	recs := []*journal.Record{
		{ID: 1, Watch: "teams", Path: "reports/q3.pdf", MIME: "application/pdf", FileKey: "teams/aaaa/q3.pdf",
			ModTime: time.Date(2026, 2, 27, 9, 30, 0, 0, time.UTC), DiscoveredAt: discovered},
		{ID: 2, Watch: "teams", Path: "reports/chart.png", MIME: "image/png", FileKey: "teams/bbbb/chart.png",
			ModTime: time.Date(2026, 2, 27, 9, 0, 0, 0, time.UTC), DiscoveredAt: discovered},
		// An implausible mtime (before 2000): the event is dated when the file was discovered.
		{ID: 3, Watch: "teams", Path: "reports/old.txt", MIME: "text/plain", FileKey: "teams/cccc/old.txt",
			ModTime: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), DiscoveredAt: discovered},
	}
	golden(t, "loose.json", Loose("test-type", teams, recs))
}

const chat = `{"version":1,
 "conversation":{"id":"c-1","title":"Q3 review","createdAt":"2023-05-24T10:00:00Z"},
 "participants":[{"id":"jordan","displayName":"Jordan Davies","email":"jordan.davies@greenvaultcapital.com"},
                 {"id":"lisa","displayName":"Lisa Holmes","email":"lisa.holmes@greenvaultcapital.com"}],
 "events":[
  {"id":"m1","time":"2023-05-24T10:05:18Z","type":"message","from":"jordan","text":"see attached"},
  {"id":"f1","time":"2023-05-24T10:05:20Z","type":"file","from":"jordan","to":["lisa"],
   "files":[{"path":"attachments/Q3-report-2023.pdf"}],"text":"take a look","systemText":"User shared a file."},
  {"id":"f2","time":"2023-05-24T10:06:00Z","type":"file","from":"lisa",
   "files":[{"href":"https://files.example.com/big.zip","name":"big.zip"}]},
  {"id":"f3","time":"2023-05-24T10:07:00Z","type":"file","from":"lisa","files":[{"path":"attachments/chart.png"}]},
  {"id":"m2","time":"2023-05-24T10:08:00Z","type":"message","from":"jordan","text":"thanks"}]}`

func parseChat(t *testing.T) *transcript.Conversation {
	t.Helper()
	const name = "exports/c1/c1.transcript.json"
	format, ok := transcript.Detect(name)
	if !ok {
		t.Fatal("transcript format not detected")
	}
	conv, err := format.Parse(name, []byte(chat))
	if err != nil {
		t.Fatal(err)
	}
	return conv
}

var chatAttachments = map[string]*journal.Record{
	"exports/c1/attachments/Q3-report-2023.pdf": {ID: 10, MIME: "application/pdf", FileKey: "teams/dddd/Q3-report-2023.pdf", SHA256: "dddd"},
	"exports/c1/attachments/chart.png":          {ID: 11, MIME: "image/png", FileKey: "teams/eeee/chart.png", SHA256: "eeee"},
}

// A new conversation: every event, two per request.
func TestTranscriptChunksGolden(t *testing.T) {
	chunks, before, err := Chunks(teams, Limits{ConversationType: "test-type", MaxEvents: 2, MaxBytes: 1 << 20},
		parseChat(t), chatAttachments, &journal.Conversation{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if before != 0 || len(chunks) != 3 {
		t.Fatalf("%d chunks, %d before; want 3 and 0", len(chunks), before)
	}
	golden(t, "transcript-chunks.json", chunks)
}

// The same export again, with one event changed since: only that one is sent, marked as the
// replacement of the earlier version.
func TestTranscriptResentGolden(t *testing.T) {
	conv := parseChat(t)
	lim := Limits{ConversationType: "test-type", MaxEvents: 100, MaxBytes: 1 << 20}
	first, _, err := Chunks(teams, lim, conv, chatAttachments, &journal.Conversation{}, false)
	if err != nil {
		t.Fatal(err)
	}
	state := &journal.Conversation{Sent: map[string][]string{}}
	for i, id := range first[0].IDs {
		state.Sent[id] = []string{first[0].Digests[i]}
	}
	conv.Events[4].Text = "thanks, edited"
	chunks, before, err := Chunks(teams, lim, conv, chatAttachments, state, false)
	if err != nil {
		t.Fatal(err)
	}
	if before != 4 || len(chunks) != 1 || len(chunks[0].IDs) != 1 || chunks[0].IDs[0] != "m2" {
		t.Fatalf("%d before, chunks %+v; want only m2 sent again", before, chunks)
	}
	golden(t, "transcript-resent.json", chunks)
}

// The byte limit splits requests too.
func TestTranscriptChunksKeepToTheByteLimit(t *testing.T) {
	conv := parseChat(t)
	chunks, _, err := Chunks(teams, Limits{MaxEvents: 100, MaxBytes: 900}, conv, chatAttachments, &journal.Conversation{}, false)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range chunks {
		b, err := json.Marshal(c.Req)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 900 && len(c.IDs) > 1 {
			t.Errorf("request of %d events is %d bytes, over the limit of 900", len(c.IDs), len(b))
		}
		n += len(c.IDs)
	}
	if len(chunks) < 2 || n != len(conv.Events) {
		t.Fatalf("%d chunks carrying %d events of %d", len(chunks), n, len(conv.Events))
	}
}
