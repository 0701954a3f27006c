package journal

import (
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A rewrite in place that keeps size, mtime and inode has another change time: another
// version, recorded on its own (it failed before: only size, mtime, inode and kind counted).
func TestChangeTimeTellsVersionsApart(t *testing.T) {
	db := openTest(t)
	v1 := insert(t, db, newRec("trades.csv", 20))[0]
	rewritten := version(20)
	rewritten.Change = testCTime.Add(time.Second)
	if known(t, db, "teams", "trades.csv", rewritten) {
		t.Fatal("Known = true for a version with the same size, mtime and inode but another change time")
	}
	fp, _ := current(t, db, "teams", "trades.csv")
	if fp.Is(rewritten) {
		t.Fatal("Fingerprint.Is ignores the change time")
	}
	reborn := version(20)
	reborn.Birth = testBirth.Add(time.Second)
	if fp.Is(reborn) {
		t.Fatal("Fingerprint.Is ignores the birth time")
	}
	otherDev := version(20)
	otherDev.Dev++
	if fp.Is(otherDev) {
		t.Fatal("Fingerprint.Is ignores the device")
	}
	noBirth := version(20)
	noBirth.Birth = time.Time{}
	if !fp.Is(noBirth) {
		t.Fatal("a birth time that one side does not know must not tell versions apart")
	}
	r := newRec("trades.csv", 20)
	r.CTime = rewritten.Change
	v2 := insert(t, db, r)
	if len(v2) != 1 || v2[0].ID == v1.ID {
		t.Fatalf("rewritten version not stored as a new record: %v", v2)
	}
	if fp, _ := current(t, db, "teams", "trades.csv"); fp.ID != v2[0].ID || !fp.Is(rewritten) {
		t.Fatalf("current is %+v, want #%d", fp, v2[0].ID)
	}
}

// A fingerprint written before change times were recorded is read, and is never the same
// version: an upgraded daemon identifies every file again.
func TestOldFingerprintIsNotTheSameVersion(t *testing.T) {
	db := openTest(t)
	old := insert(t, db, newRec("old.csv", 5))[0]
	legacy := make([]byte, 32, 36)
	copy(legacy, fingerprintOf(old).encode()[:32])
	legacy = append(legacy, "file"...)
	if err := db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPaths).Put(pathKey("teams", "old.csv"), legacy)
	}); err != nil {
		t.Fatal(err)
	}
	fp, ok := current(t, db, "teams", "old.csv")
	if !ok || fp.ID != old.ID || fp.Size != 5 || fp.Inode != 42 || fp.Kind != "file" || fp.CTime != 0 {
		t.Fatalf("old fingerprint read as %+v, %v", fp, ok)
	}
	if known(t, db, "teams", "old.csv", version(5)) {
		t.Fatal("an old fingerprint without change time counts as the same version")
	}
	if again := insert(t, db, newRec("old.csv", 5)); len(again) != 1 {
		t.Fatalf("the file behind an old fingerprint was not recorded again: %v", again)
	}
}

// A version with an mtime far outside what nanoseconds since 1970 hold (touch -d 1600-01-01)
// is still known: it is not recorded again on every scan.
func TestFarMtimeIsKnown(t *testing.T) {
	db := openTest(t)
	r := newRec("old.txt", 3)
	r.ModTime = time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)
	insert(t, db, r)
	v := version(3)
	v.ModTime = r.ModTime
	if !known(t, db, "teams", "old.txt", v) {
		t.Fatal("a version with an mtime of 1600 is not known")
	}
	if again := insert(t, db, r); len(again) != 0 {
		t.Fatal("recorded twice")
	}
}

func TestFingerprintRoundTrip(t *testing.T) {
	for _, f := range []Fingerprint{
		{ID: 1, Size: 2, ModTime: -3, Inode: 4, Kind: "file", CTime: 5, Birth: 6, Dev: 7},
		{ID: 1, Kind: "named pipe (FIFO)", CTime: 5},
		{ID: 9},
	} {
		got, ok := decodeFingerprint(f.encode())
		if !ok || got != f {
			t.Errorf("round trip of %+v gave %+v, %v", f, got, ok)
		}
	}
}

// Disown gives up a record's place as the current version of its path, and only its own.
func TestDisown(t *testing.T) {
	db := openTest(t)
	a := insert(t, db, newRec("a", 1))[0]
	if err := db.Disown(a.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := current(t, db, "teams", "a"); ok {
		t.Fatal("disowned record is still the current version")
	}
	b := insert(t, db, newRec("a", 1))[0]
	if err := db.Disown(a.ID); err != nil {
		t.Fatal(err)
	}
	if fp, ok := current(t, db, "teams", "a"); !ok || fp.ID != b.ID {
		t.Fatalf("disowning an older record removed the current one: %+v, %v", fp, ok)
	}
}

// A held version gives way to a newer version of its path: it is superseded, with a reason
// naming the newer record. Other states are left alone.
func TestNewerVersionSupersedesAHeldOne(t *testing.T) {
	db := openTest(t)
	held := newRec("secret.txt", 9)
	held.Hold("permission denied", time.Now())
	h := insert(t, db, held)[0]
	posted := newRec("public.txt", 9)
	posted.State = Posted
	p := insert(t, db, posted)[0]

	for _, r := range []*Record{newRec("secret.txt", 9), newRec("public.txt", 9)} {
		r.CTime = testCTime.Add(time.Second) // after a chmod
		insert(t, db, r)
	}
	got, err := db.Get(h.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != Superseded || !strings.Contains(got.Reason, "newer version") || !strings.Contains(got.Reason, "permission denied") {
		t.Fatalf("held record after a newer version: %s %q", got.State, got.Reason)
	}
	if got, _ := db.Get(p.ID); got.State != Posted {
		t.Fatalf("posted record became %s", got.State)
	}
	if fp, _ := current(t, db, "teams", "secret.txt"); fp.ID == h.ID {
		t.Fatal("the superseded record is still current")
	}
}
