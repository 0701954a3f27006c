package journal

import (
	"slices"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// uploaded inserts a record of the transcripts watch at path in state Uploaded with sum.
func uploaded(t *testing.T, db *DB, path, role, sum string) *Record {
	t.Helper()
	r := insert(t, db, newRec(path, 10))[0]
	err := db.Update(r.ID, func(r *Record) ([]Entry, error) {
		r.State, r.Role, r.SHA256, r.FileKey = Uploaded, role, sum, "default/teams/"+path
		r.Done(LanePut)
		if role == RoleTranscript {
			r.Schedule(LaneConv, time.Now())
		}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r, _ = db.Get(r.ID)
	return r
}

// A ledger written before digests holds event ids only. Its ids stand for the events of the
// same transcript bytes, and for nothing else; new commits add digests and keep the old ids.
func TestLegacyLedgerIDsMatchOnlyTheSameBytes(t *testing.T) {
	db := openTest(t)
	tr := uploaded(t, db, "c.genesys.json", RoleTranscript, "sum-monday")
	legacy := `{"watch":"teams","id":"c","posted":{"0":true,"1":true},"requests":[{"time":"2026-11-30T09:00:00Z","events":2,"transcript":` +
		strconv.FormatUint(tr.ID, 10) + `}]}`
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketConversations).Put(convKey("teams", "c"), []byte(legacy))
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := db.Conversation("teams", "c")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Known("0") || c.Has("0", "any") || c.HasContent("any") {
		t.Fatalf("legacy ledger read as %+v", c)
	}
	if !db.LegacyMatch(c, "sum-monday") || db.LegacyMatch(c, "sum-tuesday") || db.LegacyMatch(c, "") {
		t.Fatal("legacy ids must match the same transcript bytes and nothing else")
	}
	if err := db.CommitChunk(Chunk{Transcript: tr.ID, Watch: "teams", Conv: "c", EventIDs: []string{"0"}, Digests: []string{"d0"}, Last: true, Total: 2}, time.Now()); err != nil {
		t.Fatal(err)
	}
	c, _ = db.Conversation("teams", "c")
	if !c.Has("0", "d0") || !c.HasContent("d0") || !c.Posted["1"] || !c.Known("1") || len(c.Requests) != 2 {
		t.Fatalf("after a commit: %+v", c)
	}
	if err := db.CommitChunk(Chunk{Transcript: tr.ID, Watch: "teams", Conv: "c", EventIDs: []string{"1"}}, time.Now()); err == nil {
		t.Fatal("a chunk without digests was committed")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// claimWait records that transcript id references paths and waits for missing; it schedules
// the transcript's conv lane an hour out, or holds it when hold.
func claimWait(t *testing.T, db *DB, id uint64, paths, missing []string, hold bool) (still []string) {
	t.Helper()
	err := db.Claim(id, "teams", paths, missing, func(r *Record, m []string) ([]Entry, error) {
		still = m
		if hold {
			r.Hold("waited; missing: ...", time.Now())
		} else {
			r.Schedule(LaneConv, time.Now().Add(time.Hour))
		}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return still
}

func arrive(t *testing.T, db *DB, path string) *Record {
	t.Helper()
	return uploaded(t, db, path, RoleAttachment, "sum-"+path)
}

func TestClaimWakesTheTranscriptWhenTheLastMissingFileArrives(t *testing.T) {
	db := openTest(t)
	tr := uploaded(t, db, "c.transcript.json", RoleTranscript, "s")
	if still := claimWait(t, db, tr.ID, []string{"a.pdf", "b.pdf"}, []string{"a.pdf", "b.pdf"}, false); len(still) != 2 {
		t.Fatalf("still missing %q", still)
	}
	arrive(t, db, "a.pdf")
	r, _ := db.Get(tr.ID)
	if due, _ := r.Due(LaneConv); time.Until(due) < 30*time.Minute {
		t.Fatalf("woken with b.pdf still missing (due %s)", due)
	}
	if _, missing, _ := db.Claimed(tr.ID); !slices.Equal(missing, []string{"b.pdf"}) {
		t.Fatalf("missing %q, want b.pdf", missing)
	}
	b := arrive(t, db, "b.pdf")
	r, _ = db.Get(tr.ID)
	if due, _ := r.Due(LaneConv); time.Until(due) > 0 {
		t.Fatalf("not due now once everything arrived (due %s)", due)
	}
	// Claimed while the transcript waits; not once it is posted.
	var by []uint64
	must(t, db.UpdateClaimed(b.ID, func(r *Record, claimedBy []uint64) ([]Entry, error) { by = claimedBy; return nil, ErrSkip }))
	if !slices.Equal(by, []uint64{tr.ID}) {
		t.Fatalf("b.pdf claimed by %v, want [%d]", by, tr.ID)
	}
	must(t, db.Update(tr.ID, func(r *Record) ([]Entry, error) { r.State = Posted; r.Done(LaneConv); return nil, nil }))
	must(t, db.UpdateClaimed(b.ID, func(r *Record, claimedBy []uint64) ([]Entry, error) { by = claimedBy; return nil, ErrSkip }))
	paths, _, err := db.Claimed(tr.ID)
	must(t, err)
	if len(by) != 0 || len(paths) != 0 {
		t.Fatalf("a posted transcript still claims %q (claimants of b.pdf: %v)", paths, by)
	}
}

// A file uploaded between the pipeline's look and the claim is not missing: the transcript
// does not wait for an arrival that already happened.
func TestClaimSeesFilesThatArrivedMeanwhile(t *testing.T) {
	db := openTest(t)
	tr := uploaded(t, db, "c.transcript.json", RoleTranscript, "s")
	arrive(t, db, "a.pdf")
	if still := claimWait(t, db, tr.ID, []string{"a.pdf"}, []string{"a.pdf"}, false); len(still) != 0 {
		t.Fatalf("still missing %q", still)
	}
}

func TestHeldForMissingFilesIsReleasedWhenTheyArrive(t *testing.T) {
	db := openTest(t)
	tr := uploaded(t, db, "c.transcript.json", RoleTranscript, "s")
	claimWait(t, db, tr.ID, []string{"a.pdf"}, []string{"a.pdf"}, true)
	if r, _ := db.Get(tr.ID); r.State != Held {
		t.Fatalf("state %s", r.State)
	}
	a := arrive(t, db, "a.pdf")
	r, _ := db.Get(tr.ID)
	if _, due := r.Due(LaneConv); r.State != Uploaded || !due {
		t.Fatalf("not released once its file arrived: %s, lanes %v", r.State, r.Lanes)
	}
	// A held transcript that a newer version of its file replaced claims nothing.
	must(t, db.Update(tr.ID, func(r *Record) ([]Entry, error) { r.Hold("bad", time.Now()); return nil, nil }))
	var by []uint64
	must(t, db.UpdateClaimed(a.ID, func(r *Record, claimedBy []uint64) ([]Entry, error) { by = claimedBy; return nil, ErrSkip }))
	if !slices.Equal(by, []uint64{tr.ID}) {
		t.Fatalf("claimants %v while held", by)
	}
	insert(t, db, newRec("c.transcript.json", 11))
	must(t, db.UpdateClaimed(a.ID, func(r *Record, claimedBy []uint64) ([]Entry, error) { by = claimedBy; return nil, ErrSkip }))
	if len(by) != 0 {
		t.Fatalf("claimants %v after the transcript was replaced", by)
	}
}
