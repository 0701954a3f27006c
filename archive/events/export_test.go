package events

import (
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/globalrelay"
	"github.com/archivist-project/archivist/archive/transcript"
	"github.com/archivist-project/archivist/journal"
)

// The events of chat exports: joins, invitations and notices get their own event types,
// affected members are participants, a file inside the export is referenced by the key it
// was stored under (no record of its own), and each event's key goes with its chunk.
func TestExportEventTypesFilesAndKeys(t *testing.T) {
	at := time.Date(2023, 5, 24, 10, 0, 0, 0, time.UTC)
	conv := &transcript.Conversation{ID: "T1/C1", Participants: []transcript.Participant{
		{ID: "U1", DisplayName: "Lisa", Email: "lisa@example.com"}, {ID: "U2", DisplayName: "Jordan", Email: "jordan@example.com"}},
		Events: []transcript.Event{
			{ID: "1", Key: "k1", Time: at, Type: transcript.EventJoined, From: "U2", SystemText: "Jordan joined"},
			{ID: "2", Key: "k2", Time: at, Type: transcript.EventInvited, From: "U1", Affected: []string{"U2"}, SystemText: "added"},
			{ID: "3", Key: "k3", Time: at, Type: transcript.EventNotice, From: "U1", SystemText: "topic set"},
			{ID: "4", Key: "k4", Time: at, Type: transcript.EventFile, From: "U1", Text: "the report",
				Files: []transcript.FileRef{{Entry: "__uploads/F1/r.pdf", Name: "r.pdf"}}},
			{ID: "5", Key: "k5", Time: at, Type: transcript.EventFile, From: "U1", SystemText: "File x: the export did not contain it."},
		}}
	atts := map[string]*journal.Record{"__uploads/F1/r.pdf": {FileKey: "default/w/abc/r.pdf", SHA256: "abc", MIME: "application/pdf"}}
	chunks, _, err := Chunks(Source{Watch: "w"}, Limits{ConversationType: "t", MaxEvents: 10, MaxBytes: 1 << 20}, conv, atts, &journal.Conversation{}, false)
	if err != nil || len(chunks) != 1 {
		t.Fatalf("chunks %v, %v", chunks, err)
	}
	ch := chunks[0]
	want := []string{globalrelay.EventUserJoined, globalrelay.EventInvitation, globalrelay.EventUserEvent, globalrelay.EventFileTransfer, globalrelay.EventUserEvent}
	for i, ev := range ch.Req.Events {
		if ev.EventType != want[i] {
			t.Errorf("event %d: %s, want %s", i, ev.EventType, want[i])
		}
	}
	if ps := ch.Req.Events[1].Participants; len(ps) != 2 || ps[1].UserType != globalrelay.UserAffected || ps[1].CorporateEmail != "jordan@example.com" {
		t.Errorf("invitation participants %+v", ps)
	}
	if fs := ch.Req.Events[3].Files; len(fs) != 1 || fs[0].FileKey != "default/w/abc/r.pdf" || len(ch.Attachments) != 0 {
		t.Errorf("file inside the export: %+v, attachments %v", fs, ch.Attachments)
	}
	if len(ch.Keys) != 5 || ch.Keys[0] != "k1" || ch.Keys[4] != "k5" {
		t.Errorf("keys %v", ch.Keys)
	}
}
