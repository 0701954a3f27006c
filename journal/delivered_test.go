package journal

import (
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// An export's message keys are committed with the request that carried them, per watch; the
// export record stays discovered meanwhile (it is never uploaded).
func TestDeliveredKeysAreCommittedWithTheirRequest(t *testing.T) {
	db := openTest(t)
	r := newRec("slack.zip", 10)
	r.Role, r.Lanes = RoleExport, map[string]time.Time{LaneConv: time.Now()}
	r = insert(t, db, r)[0]
	now := time.Now()
	err := db.CommitChunk(exportChunk(r.ID, "slack/T1/C1/1.0", "slack/T1/C1/2.0"), now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.Delivered("teams", []string{"slack/T1/C1/1.0", "slack/T1/C1/3.0", "slack/T1/C1/2.0"})
	if err != nil || !slices.Equal(got, []bool{true, false, true}) {
		t.Errorf("Delivered = %v, %v; want [true false true]", got, err)
	}
	if got, _ := db.Delivered("other", []string{"slack/T1/C1/1.0"}); got[0] {
		t.Error("a key of another watch counts as delivered")
	}
	x, err := db.Get(r.ID)
	if err != nil || x.State != Discovered || x.EventsPosted != 2 {
		t.Errorf("record after the chunk: %+v, %v", x, err)
	}
	c, err := db.Conversation("teams", "T1/C1")
	if err != nil || len(c.Sent) != 0 || len(c.Requests) != 0 {
		t.Errorf("conversation ledger %+v, %v: want it untouched (the delivered ledger holds the keys)", c, err)
	}
}

// exportChunk is a chunk of an export's events with keys.
func exportChunk(id uint64, keys ...string) Chunk {
	return Chunk{Transcript: id, Watch: "teams", Conv: "T1/C1", EventIDs: keys, Digests: keys, Keys: keys, RequestID: "rq1"}
}

// A held export is released into the conv lane, to be read in place again: never uploaded.
func TestHeldExportIsReleasedToItsConvLane(t *testing.T) {
	r := newRec("slack.zip", 10)
	r.Role, r.Lanes = RoleExport, map[string]time.Time{LaneConv: time.Now()}
	if err := r.Hold("bad day file", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := r.Release(time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, put := r.Due(LanePut); put || r.State != Discovered {
		t.Errorf("released export: state %s, lanes %v; want discovered and conv only", r.State, r.Lanes)
	}
	if _, conv := r.Due(LaneConv); !conv {
		t.Errorf("released export: lanes %v, want conv", r.Lanes)
	}
}

// A rebuilt journal still knows which export messages were delivered: otherwise the same
// export, seen again, would be sent a second time.
func TestRebuildKeepsDeliveredMessages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := newRec("slack.zip", 10)
	r.Role, r.Lanes = RoleExport, map[string]time.Time{LaneConv: time.Now()}
	r = insert(t, db, r)[0]
	if err := db.CommitChunk(exportChunk(r.ID, "slack/T1/C1/1.0", "slack/T1/C1/2.0"), time.Now()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := SalvageFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rebuilt, err := Rebuild(filepath.Join(t.TempDir(), "rebuilt.db"), s)
	if err != nil {
		t.Fatal(err)
	}
	defer rebuilt.Close()
	got, err := rebuilt.Delivered("teams", []string{"slack/T1/C1/1.0", "slack/T1/C1/2.0", "slack/T1/C1/3.0"})
	if err != nil || !slices.Equal(got, []bool{true, true, false}) {
		t.Fatalf("Delivered after a rebuild = %v, %v; want [true true false]", got, err)
	}
	if err := rebuilt.Check(); err != nil {
		t.Fatal(err)
	}
}
