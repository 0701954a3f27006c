package archive

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	bolt "go.etcd.io/bbolt"

	"github.com/archivist-project/archivist/archive/sandbox"
	"github.com/archivist-project/archivist/journal"
)

// logBuffer collects a logger's JSON lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// count returns how many lines have msg containing part, and how many lines there are.
func (l *logBuffer) count(part string) (n, lines int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(l.b.String(), "\n") {
		var v map[string]any
		if json.Unmarshal([]byte(line), &v) != nil {
			continue
		}
		lines++
		if msg, _ := v["msg"].(string); strings.Contains(msg, part) {
			n++
		}
	}
	return n, lines
}

func TestUnreadableRecordsAreQuarantinedOnceNotRetriedInALoop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	logs := &logBuffer{}
	log := logrus.New()
	log.SetFormatter(&logrus.JSONFormatter{})
	log.SetOutput(logs)
	log.SetLevel(logrus.InfoLevel)
	h := newHarnessAt(t, path, func(o *Options, _ *sandbox.Options) { o.Logger = log })
	// Two files recorded, then the journal damaged under them: one record's value no longer
	// decodes, and the due index names a record that does not exist (what 64 random flips did).
	good := h.drop("good.txt", []byte("good"))
	bad := h.drop("bad.txt", []byte("bad"))
	badID := h.record(bad.RelPath).ID
	h.j.Close()
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte("records")).Put(u64key(badID), []byte{0x01, 0xff, 0xff}); err != nil {
			return err
		}
		k := make([]byte, 16)
		binary.BigEndian.PutUint64(k, uint64(time.Now().UnixNano()))
		binary.BigEndian.PutUint64(k[8:], 999)
		return tx.Bucket([]byte("due")).Bucket([]byte(journal.LanePut)).Put(k, nil)
	})
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if h.j, err = journal.Open(path, journal.Options{}); err != nil {
		t.Fatal(err)
	}
	h.p = New(h.j, h.client, h.po)
	h.start(nil)

	h.awaitState(h.record(good.RelPath).ID, journal.Posted)
	await(t, "both unreadable records quarantined", func() bool {
		n, err := h.j.QuarantineCount()
		return err == nil && n == 2
	})
	// More work afterwards: the pipeline goes round its lanes again.
	later := h.drop("later.txt", []byte("later"))
	h.awaitState(h.record(later.RelPath).ID, journal.Posted)

	if n, _ := logs.count("quarantined"); n != 2 {
		t.Errorf("quarantine logged %d times, want once per record (2)", n)
	}
	if _, lines := logs.count(""); lines > 30 {
		t.Errorf("%d log lines for three files and two damaged records: an error path loops", lines)
	}
	for _, lane := range []string{journal.LanePut, journal.LanePost} {
		items, _, err := h.j.DueIn(lane, time.Now().Add(time.Hour), 100, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.ID == badID || it.ID == 999 {
				t.Errorf("quarantined #%d still due in %s", it.ID, lane)
			}
		}
	}
	q, err := h.j.QuarantineList()
	if err != nil || len(q) != 2 || !strings.Contains(q[0].Reason+q[1].Reason, "cannot be decoded") {
		t.Errorf("quarantine list %+v, %v", q, err)
	}
}

func u64key(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func TestReconcileQuarantinesAnUnreadableRecordSoItsFileIsRecordedAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	h := newHarnessAt(t, path)
	h.start(nil)
	f := h.drop("posted.txt", []byte("posted"))
	id := h.record(f.RelPath).ID
	ver := h.awaitState(id, journal.Posted).Version()
	h.cancel()
	<-h.done
	h.j.Close()
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("records")).Put(u64key(id), []byte{0x01, 0xff})
	})
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if h.j, err = journal.Open(path, journal.Options{}); err != nil {
		t.Fatal(err)
	}
	if !known(t, h.j, f.Watch, f.RelPath, ver) {
		t.Fatal("before reconciliation the damaged record should still hold its path")
	}
	h.p = New(h.j, h.client, h.po)
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.done = make(chan struct{})
	h.start(nil)
	if _, err := h.p.Reconcile(h.ctx, time.Hour, true, 0); err != nil {
		t.Fatal(err)
	}
	if n, err := h.j.QuarantineCount(); err != nil || n != 1 {
		t.Fatalf("quarantined %d, %v", n, err)
	}
	if known(t, h.j, f.Watch, f.RelPath, ver) {
		t.Fatal("after reconciliation the file still counts as known: it would never be archived again")
	}
}

func TestStrayDueEntriesAreDroppedNotWorkedInALoop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	h := newHarnessAt(t, path)
	f := h.drop("once.txt", []byte("once"))
	id := h.record(f.RelPath).ID
	h.j.Close()
	// Damaged due keys naming a real record: one in its put lane at another time, one in the
	// post lane it does not have yet.
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		due := tx.Bucket([]byte("due"))
		post, err := due.CreateBucketIfNotExists([]byte(journal.LanePost))
		if err != nil {
			return err
		}
		for i, lane := range []*bolt.Bucket{due.Bucket([]byte(journal.LanePut)), post} {
			k := make([]byte, 16)
			binary.BigEndian.PutUint64(k, uint64(time.Now().Add(-time.Duration(i+1)*time.Hour).UnixNano()))
			binary.BigEndian.PutUint64(k[8:], id)
			if err := lane.Put(k, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if h.j, err = journal.Open(path, journal.Options{}); err != nil {
		t.Fatal(err)
	}
	h.p = New(h.j, h.client, h.po)
	h.start(nil)
	h.awaitState(id, journal.Posted)
	await(t, "the stray entries dropped", func() bool {
		n, err := h.j.LaneCounts()
		return err == nil && n[journal.LanePut] == 0 && n[journal.LanePost] == 0
	})
	// More work afterwards, so the loops go round again.
	later := h.drop("later.txt", []byte("later"))
	h.awaitState(h.record(later.RelPath).ID, journal.Posted)
	if st := h.sb.Stats(); st.Puts != 2 || st.Posts != 2 {
		t.Fatalf("%d PUTs and %d posts for two files: a stray due entry was worked", st.Puts, st.Posts)
	}
}
