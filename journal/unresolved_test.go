package journal

import (
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestUnresolvedLedgerMergesBatchesAndSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := db.UnresolvedCount(); err != nil || n != 0 {
		t.Fatalf("empty ledger: count %d, %v", n, err)
	}
	mon := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	tue := mon.Add(24 * time.Hour)
	err = db.NoteUnresolved([]Unresolved{
		{Source: "slack", ID: "U1", Name: "Ann", Watch: "slack-eu", Events: 3},
		{Source: "whatsapp", ID: "+441234", Watch: "phones"},
	}, tue)
	if err != nil {
		t.Fatal(err)
	}
	// A second batch: the same Slack user from another watch (earlier export, new name), one new.
	err = db.NoteUnresolved([]Unresolved{
		{Source: "SLACK", ID: "U1", Name: "Ann B.", Watch: "slack-us", Events: 2},
		{Source: "slack", ID: "U2", Watch: "slack-eu", Events: 1},
	}, mon)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err = Open(path, Options{ReadOnly: true}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Unresolved()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d entries, want 3: %+v", len(got), got)
	}
	u1 := got[0]
	if u1.Source != "slack" || u1.ID != "U1" || u1.Name != "Ann B." || u1.Events != 5 ||
		!slices.Equal(u1.Watches, []string{"slack-eu", "slack-us"}) || !u1.FirstSeen.Equal(mon) || !u1.LastSeen.Equal(tue) {
		t.Errorf("U1 = %+v", u1)
	}
	if got[1].ID != "U2" || got[2].Source != "whatsapp" || got[2].Events != 1 {
		t.Errorf("order or counts: %+v", got)
	}
	if n, err := db.UnresolvedCount(); err != nil || n != 3 {
		t.Errorf("count %d, %v; want 3", n, err)
	}
}

func TestNoteUnresolvedTwiceKeepsOneEntry(t *testing.T) {
	db := openTest(t)
	now := time.Now()
	batch := []Unresolved{{Source: "teams", ID: "obj-1", Name: "Bo", Watch: "teams"}}
	for range 2 {
		if err := db.NoteUnresolved(batch, now); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Unresolved()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Watches) != 1 || !got[0].FirstSeen.Equal(now) {
		t.Errorf("got %+v", got)
	}
}

func TestPruneResolvedDropsOnlyKnownParticipants(t *testing.T) {
	db := openTest(t)
	err := db.NoteUnresolved([]Unresolved{{Source: "slack", ID: "U1"}, {Source: "slack", ID: "U2"}, {Source: "teams", ID: "U1"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	n, err := db.PruneResolved(func(source, id string) bool { return source == "slack" && id == "U1" })
	if err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want 1", n, err)
	}
	got, err := db.Unresolved()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "U2" || got[1].Source != "teams" {
		t.Errorf("left %+v", got)
	}
}

// Noted with the chunk that carried their events, participants are committed with it, or not
// at all: a refused commit (here, digests missing) notes nobody.
func TestChunkNotesUnresolvedInItsTransaction(t *testing.T) {
	db := openTest(t)
	tr := uploaded(t, db, "c.slack.zip", RoleTranscript, "sum")
	who := []Unresolved{{Source: "slack", ID: "U1", Watch: "teams", Events: 2}}
	bad := Chunk{Transcript: tr.ID, Watch: "teams", Conv: "c", EventIDs: []string{"0"}, Unresolved: who}
	if err := db.CommitChunk(bad, time.Now()); err == nil {
		t.Fatal("a chunk without digests was committed")
	}
	if n, err := db.UnresolvedCount(); err != nil || n != 0 {
		t.Fatalf("after a refused commit: %d noted, %v", n, err)
	}
	good := Chunk{Transcript: tr.ID, Watch: "teams", Conv: "c", EventIDs: []string{"0", "1"}, Digests: []string{"d0", "d1"}, Unresolved: who}
	if err := db.CommitChunk(good, time.Now()); err != nil {
		t.Fatal(err)
	}
	got, err := db.Unresolved()
	if err != nil || len(got) != 1 || got[0].Events != 2 {
		t.Errorf("after the commit: %+v, %v", got, err)
	}
}
