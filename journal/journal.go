package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout this code writes. It reads every earlier one.
//
//	1: records and audit entries as JSON
//	2: records and audit entries in binary (codec.go); JSON ones are still read
const SchemaVersion = 2

var (
	// ErrLocked means another process (usually another archivist) holds the journal file.
	ErrLocked = errors.New("journal is in use by another process")
	// ErrNotFound means no record has the requested id.
	ErrNotFound = errors.New("no such record")
	// ErrSchema means the journal was written by a newer archivist.
	ErrSchema = errors.New("unsupported journal schema")
)

var (
	bucketMeta    = []byte("meta")
	bucketRecords = []byte("records")
	bucketPaths   = []byte("paths")
	bucketDue     = []byte("due")
	bucketKeys    = []byte("keys")
	bucketAudit   = []byte("audit")

	keySchema = []byte("schema")
)

// initialMmap is the journal's initial memory map. bbolt remaps when the file outgrows it,
// and a remap waits for every read transaction: starting large avoids remaps while a burst of
// files grows the journal. It is address space, not memory: untouched pages cost nothing.
const initialMmap = 256 << 20

// appendFill is how full bbolt fills a page before splitting it, in the buckets whose keys
// only grow (records by id, audit entries by id and sequence). bbolt's default of one half
// suits random inserts; with keys that only grow it left every page half empty, and the
// journal, whose pages count in the daemon's resident memory once read, half again larger
// than its data.
const appendFill = 0.9

// Options tune Open. The zero value is what the daemon uses.
type Options struct {
	// Timeout is how long to wait for another process to release the file; zero means 2s.
	Timeout time.Duration
	// ReadOnly opens the journal for reading only (commands run while the daemon is stopped).
	ReadOnly bool
	// NoSync skips fsync on commit. Only for benchmarks and tests that measure something else.
	NoSync bool
	// WriteFault, if set, is asked before every write transaction; an error it returns fails the
	// transaction as a full or read-only disk would. For tests of what the daemon does then.
	WriteFault func() error
	// NewJournal accepts starting a new journal where the marker names another one (the
	// journal was lost, emptied, or replaced): `archivist run --new-journal`.
	NewJournal bool
	// FullCheck checks every page of the file at open (bbolt's Tx.Check), not only the meta
	// pages, the freelist and the root.
	FullCheck bool
}

// DB is an open journal.
type DB struct {
	bolt  *guarded
	path  string
	fault func() error
}

// Open opens or creates the journal at path. A damaged file (see quickCheck), or a journal
// missing or empty where its marker says one existed, is refused with an error wrapping
// ErrDamaged.
func Open(path string, o Options) (*DB, error) {
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if !o.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("journal %s: %w", path, err)
		}
	}
	if err := refuseMissing(path, o); err != nil {
		return nil, err
	}
	if err := checkBeforeOpen(path); err != nil {
		return nil, err
	}
	b, err := openCurrent(path, &bolt.Options{Timeout: o.Timeout, ReadOnly: o.ReadOnly, NoSync: o.NoSync, InitialMmapSize: initialMmap})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("journal %s: %w (is another archivist running?); gave up after %s", path, ErrLocked, o.Timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	db := &DB{bolt: newGuarded(b, path), path: path, fault: o.WriteFault}
	if err := db.start(o); err != nil {
		b.Close()
		if errors.Is(err, ErrDamaged) && db.Err() != nil {
			return nil, db.Err()
		}
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	return db, nil
}

func (db *DB) init(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketMeta, bucketRecords, bucketPaths, bucketDue, bucketKeys, bucketAudit, bucketConversations, bucketQuarantine} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	if meta.Get(keySchema) == nil {
		return meta.Put(keySchema, u64(SchemaVersion))
	}
	if err := db.checkSchema(tx); err != nil {
		return err
	}
	// An older journal is upgraded in place: its values stay as they are, and the new version
	// number keeps an older archivist, which could not read what this one writes, away.
	return meta.Put(keySchema, u64(SchemaVersion))
}

func (db *DB) checkSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return fmt.Errorf("%w: not an archivist journal (no meta bucket)", ErrSchema)
	}
	v := meta.Get(keySchema)
	if len(v) != 8 {
		return fmt.Errorf("%w: no schema version", ErrSchema)
	}
	if n := binary.BigEndian.Uint64(v); n > SchemaVersion {
		return fmt.Errorf("%w: schema %d is newer than this archivist supports (%d)", ErrSchema, n, SchemaVersion)
	}
	return nil
}

// write runs fn in a write transaction.
func (db *DB) write(fn func(tx *bolt.Tx) error) error {
	if err := db.injected(); err != nil {
		return err
	}
	return db.bolt.Update(fn)
}

func (db *DB) injected() error {
	if db.fault == nil {
		return nil
	}
	return db.fault()
}

// Path is the journal file's path.
func (db *DB) Path() string { return db.path }

// Close closes the file.
func (db *DB) Close() error { return db.bolt.Close() }

// Version is what identifies one version of a file on disk without reading it: what a writer
// sets (size, mtime) and what it cannot set back (the change time, the birth time, the inode and
// device). A rewrite in place with the size kept and the mtime set back, or a file replaced by
// another on a reused inode, has another change time, so it is another version.
type Version struct {
	Kind    string
	Size    int64
	ModTime time.Time
	Change  time.Time // ctime; zero when unknown
	Birth   time.Time // zero when the file system or kernel does not report it
	Inode   uint64
	Dev     uint64
}

// Version is the version of the file the record describes.
func (r *Record) Version() Version {
	return Version{Kind: r.Kind, Size: r.Size, ModTime: r.ModTime, Change: r.CTime, Birth: r.Birth, Inode: r.Inode, Dev: r.Dev}
}

// Same reports whether v and o are the same version. An unknown change time is never the
// same: a record written before the change time was recorded is identified again (if its
// bytes hash the same, the new record is a harmless duplicate). A birth time is compared when
// both know it.
func (v Version) Same(o Version) bool {
	return v.Kind == o.Kind && v.Size == o.Size && v.ModTime.Equal(o.ModTime) && v.Inode == o.Inode && v.Dev == o.Dev &&
		!v.Change.IsZero() && v.Change.Equal(o.Change) && (v.Birth.IsZero() || o.Birth.IsZero() || v.Birth.Equal(o.Birth))
}

// Fingerprint identifies one version of a path as the watcher saw it.
type Fingerprint struct {
	ID      uint64
	Size    int64
	ModTime int64 // unix ns
	Inode   uint64
	Kind    string
	CTime   int64 // unix ns; 0 in fingerprints written before it was recorded
	Birth   int64 // unix ns; 0 when unknown
	Dev     uint64
}

// fpV2 follows the fixed part of a fingerprint that records change time, birth time and
// device. The first encoding ended with the kind, whose first byte is never 0.
const fpV2 = 0

func (f Fingerprint) encode() []byte {
	b := make([]byte, 57, 57+len(f.Kind))
	binary.BigEndian.PutUint64(b[0:], f.ID)
	binary.BigEndian.PutUint64(b[8:], uint64(f.Size))
	binary.BigEndian.PutUint64(b[16:], uint64(f.ModTime))
	binary.BigEndian.PutUint64(b[24:], f.Inode)
	b[32] = fpV2
	binary.BigEndian.PutUint64(b[33:], uint64(f.CTime))
	binary.BigEndian.PutUint64(b[41:], uint64(f.Birth))
	binary.BigEndian.PutUint64(b[49:], f.Dev)
	return append(b, f.Kind...)
}

// Is reports whether the fingerprint describes exactly version v, as Version.Same does. Times
// are compared in the fingerprint's nanoseconds: an mtime outside what they hold (before 1678,
// after 2262) wraps the same way on both sides.
func (f Fingerprint) Is(v Version) bool {
	return f.Kind == v.Kind && f.Size == v.Size && f.ModTime == v.ModTime.UnixNano() && f.Inode == v.Inode && f.Dev == v.Dev &&
		f.CTime != 0 && f.CTime == unixNano(v.Change) && (f.Birth == 0 || v.Birth.IsZero() || f.Birth == v.Birth.UnixNano())
}

func fingerprintOf(r *Record) Fingerprint {
	return Fingerprint{ID: r.ID, Size: r.Size, ModTime: r.ModTime.UnixNano(), Inode: r.Inode, Kind: r.Kind,
		CTime: unixNano(r.CTime), Birth: unixNano(r.Birth), Dev: r.Dev}
}

// unixNano is t in ns since the epoch, 0 for the zero time (unknown).
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func decodeFingerprint(b []byte) (Fingerprint, bool) {
	if len(b) < 32 {
		return Fingerprint{}, false
	}
	f := Fingerprint{
		ID:      binary.BigEndian.Uint64(b[0:]),
		Size:    int64(binary.BigEndian.Uint64(b[8:])),
		ModTime: int64(binary.BigEndian.Uint64(b[16:])),
		Inode:   binary.BigEndian.Uint64(b[24:]),
		Kind:    string(b[32:]),
	}
	if len(b) >= 57 && b[32] == fpV2 {
		f.CTime = int64(binary.BigEndian.Uint64(b[33:]))
		f.Birth = int64(binary.BigEndian.Uint64(b[41:]))
		f.Dev = binary.BigEndian.Uint64(b[49:])
		f.Kind = string(b[57:])
	}
	return f, true
}

func pathKey(watch, rel string) []byte {
	k := make([]byte, 0, len(watch)+1+len(rel))
	k = append(k, watch...)
	k = append(k, 0)
	return append(k, rel...)
}

// Current returns the fingerprint of the newest recorded version of watch:rel; ok is false
// when none is recorded. A failed read is an error, never "not recorded".
func (db *DB) Current(watch, rel string) (fp Fingerprint, ok bool, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		fp, ok = decodeFingerprint(tx.Bucket(bucketPaths).Get(pathKey(watch, rel)))
		return nil
	})
	if err != nil {
		return Fingerprint{}, false, fmt.Errorf("journal: current version of %s/%s: %w", watch, rel, err)
	}
	return fp, ok, nil
}

// Known reports whether exactly this version of watch:rel is recorded already.
func (db *DB) Known(watch, rel string, v Version) (bool, error) {
	fp, ok, err := db.Current(watch, rel)
	return ok && fp.Is(v), err
}

// Disown makes record id no longer the current version of its path (its file's bytes turned
// out to differ from what it archived), so the watcher records the path again, even with the
// same metadata. The record itself stays as it is.
func (db *DB) Disown(id uint64) error {
	err := db.write(func(tx *bolt.Tx) error {
		r, err := getRecord(tx, id)
		if err != nil {
			return err
		}
		paths := tx.Bucket(bucketPaths)
		pk := pathKey(r.Watch, string(r.Path))
		if cur, ok := decodeFingerprint(paths.Get(pk)); ok && cur.ID == id {
			return paths.Delete(pk)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("journal: disown #%d: %w", id, err)
	}
	return nil
}

// Get returns a copy of record id.
func (db *DB) Get(id uint64) (*Record, error) {
	var r *Record
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		r, err = getRecord(tx, id)
		return err
	})
	return r, err
}

func getRecord(tx *bolt.Tx, id uint64) (*Record, error) {
	v := tx.Bucket(bucketRecords).Get(u64(id))
	if v == nil {
		return nil, fmt.Errorf("record #%d: %w", id, ErrNotFound)
	}
	r := new(Record)
	if err := decodeStored(id, v, r); err != nil {
		return nil, err
	}
	return r, nil
}

// Insert stores new records (their ID is assigned), each with its first audit entry, in one
// transaction. A record whose watch:path version is already current (same fingerprint) is
// skipped, so offering the same settled file twice records it once. A held entry that is not a
// regular file (symlink, FIFO, ...) is kept once per path: a new one at the path updates the
// current held one (see resight), and a new regular file there supersedes it. It returns the
// records that were stored.
func (db *DB) Insert(recs []*Record, first []Entry) ([]*Record, error) {
	var stored []*Record
	err := db.write(func(tx *bolt.Tx) error {
		stored = stored[:0]
		records := tx.Bucket(bucketRecords)
		for i, r := range recs {
			fp, ok := decodeFingerprint(tx.Bucket(bucketPaths).Get(pathKey(r.Watch, string(r.Path))))
			if ok && fp.Is(r.Version()) {
				continue
			}
			if ok {
				merged, err := resight(tx, fp.ID, r)
				if err != nil {
					return err
				}
				if merged {
					continue
				}
			}
			id, err := records.NextSequence()
			if err != nil {
				return err
			}
			nr := *r
			nr.ID = id
			if err := put(tx, nil, &nr); err != nil {
				return err
			}
			e := first[i]
			if err := appendAudit(tx, id, e); err != nil {
				return err
			}
			stored = append(stored, &nr)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("journal: insert %d records: %w", len(recs), err)
	}
	return stored, nil
}

// heldOther reports a held record of something that is not a regular file: never opened, and
// of interest to an operator once per path, not once per appearance.
func heldOther(r *Record) bool { return r.State == Held && r.Kind != "file" }

// resight folds r, a new sighting at the path whose current record is id, into that record
// when both are held entries that are not regular files (a symlink swapped for another, a
// FIFO recreated): the record takes r's identity, so the watcher knows this version, counts
// the sighting, and gains an audit entry only when what is there changed kind.
func resight(tx *bolt.Tx, id uint64, r *Record) (bool, error) {
	if !heldOther(r) {
		return false, nil
	}
	cur, err := getRecord(tx, id)
	if err != nil || !heldOther(cur) {
		return false, nil // an unreadable record is not merged into: r gets its own
	}
	old := *cur
	kindChanged := cur.Kind != r.Kind
	cur.Kind, cur.Size, cur.ModTime, cur.Inode, cur.Dev, cur.Nlink = r.Kind, r.Size, r.ModTime, r.Inode, r.Dev, r.Nlink
	cur.CTime, cur.Birth = r.CTime, r.Birth
	cur.Reason = r.Reason
	cur.Sightings = max(cur.Sightings, 1) + 1
	cur.LastSeen = r.DiscoveredAt
	if err := put(tx, &old, cur); err != nil {
		return false, err
	}
	if err := tx.Bucket(bucketPaths).Put(pathKey(cur.Watch, string(cur.Path)), fingerprintOf(cur).encode()); err != nil {
		return false, err
	}
	if kindChanged {
		e := Entry{Time: r.DiscoveredAt, Step: "seen again", Result: "held", Detail: fmt.Sprintf("now a %s: %s", r.Kind, r.Reason)}
		if err := appendAudit(tx, id, e); err != nil {
			return false, err
		}
	}
	return true, nil
}

// ErrSkip, returned by an Update function, leaves the record unchanged without failing.
var ErrSkip = errors.New("skip update")

// Update loads record id, lets fn change it and name the audit entries to append, and commits
// the record with its indexes in one transaction. Concurrent Updates are coalesced into shared
// transactions (bbolt Batch), so fn may run more than once and must only change r.
func (db *DB) Update(id uint64, fn func(r *Record) ([]Entry, error)) error {
	err := db.bolt.Batch(func(tx *bolt.Tx) error {
		if err := db.injected(); err != nil {
			return err
		}
		return update(tx, id, fn)
	})
	if errors.Is(err, ErrSkip) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("journal: update #%d: %w", id, err)
	}
	return nil
}

// UpdateMany is Update for several records in one transaction: all change, or none.
func (db *DB) UpdateMany(ids []uint64, fn func(r *Record) ([]Entry, error)) error {
	err := db.write(func(tx *bolt.Tx) error {
		for _, id := range ids {
			if err := update(tx, id, fn); err != nil && !errors.Is(err, ErrSkip) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("journal: update %d records: %w", len(ids), err)
	}
	return nil
}

// Change is one record's update in UpdateEach.
type Change struct {
	ID uint64
	Fn func(r *Record) ([]Entry, error)
}

// UpdateEach applies several records' own changes in one transaction (one fsync): all are
// committed, or none.
func (db *DB) UpdateEach(changes []Change) error {
	err := db.write(func(tx *bolt.Tx) error {
		for _, c := range changes {
			if err := update(tx, c.ID, c.Fn); err != nil && !errors.Is(err, ErrSkip) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("journal: update %d records: %w", len(changes), err)
	}
	return nil
}

func update(tx *bolt.Tx, id uint64, fn func(r *Record) ([]Entry, error)) error {
	r, err := getRecord(tx, id)
	if err != nil {
		return err
	}
	// put compares the new record with the old one's state, lanes and identity: a shallow
	// copy with its own lanes map is enough (decoding the record twice cost a fifth of the
	// daemon's CPU in a burst of small files).
	old := *r
	old.Lanes = maps.Clone(r.Lanes)
	entries, err := fn(r)
	if err != nil {
		return err
	}
	r.ID = id
	if err := checkMove(&old, r); err != nil {
		return err
	}
	if err := put(tx, &old, r); err != nil {
		return err
	}
	for _, e := range entries {
		if err := appendAudit(tx, id, e); err != nil {
			return err
		}
	}
	return nil
}

// put writes r and brings every index in line with the change from old (nil for a new record).
func put(tx *bolt.Tx, old, r *Record) error {
	r.UpdatedAt = time.Now()
	records := tx.Bucket(bucketRecords)
	records.FillPercent = appendFill
	if err := records.Put(u64(r.ID), encodeRecord(r)); err != nil {
		return err
	}
	if err := countStates(tx, old, r); err != nil {
		return err
	}
	if err := indexDue(tx, old, r); err != nil {
		return err
	}
	if err := indexPath(tx, old, r); err != nil {
		return err
	}
	if err := indexKey(tx, r); err != nil {
		return err
	}
	// Transcripts' claims on their attachments (claims.go).
	return claimsOnPut(tx, old, r)
}

// countStates keeps the state counts in line with the change from old (nil for a new
// record) to r.
func countStates(tx *bolt.Tx, old, r *Record) error {
	meta := tx.Bucket(bucketMeta)
	if old != nil && old.State == r.State {
		return nil
	}
	if old != nil {
		if err := addCount(meta, old.State, -1); err != nil {
			return err
		}
	}
	return addCount(meta, r.State, 1)
}

// indexDue keeps the due index, one sub-bucket per lane, in line with the change from old
// (nil for a new record) to r.
func indexDue(tx *bolt.Tx, old, r *Record) error {
	due := tx.Bucket(bucketDue)
	if old != nil {
		for lane, t := range old.Lanes {
			if nt, ok := r.Lanes[lane]; ok && nt.Equal(t) {
				continue
			}
			if b := due.Bucket([]byte(lane)); b != nil {
				if err := b.Delete(dueKey(t, r.ID)); err != nil {
					return err
				}
			}
		}
	}
	for lane, t := range r.Lanes {
		if old != nil {
			if ot, ok := old.Lanes[lane]; ok && ot.Equal(t) {
				continue
			}
		}
		b, err := due.CreateBucketIfNotExists([]byte(lane))
		if err != nil {
			return err
		}
		if err := b.Put(dueKey(t, r.ID), nil); err != nil {
			return err
		}
	}
	return nil
}

// indexKey keeps the key index: the first record whose PUT of a key was confirmed.
func indexKey(tx *bolt.Tx, r *Record) error {
	if r.FileKey == "" || r.DuplicateOf != 0 || (r.State != Uploaded && r.State != Posted) {
		return nil
	}
	keys := tx.Bucket(bucketKeys)
	if _, ok := keyOwner(keys, r.FileKey); ok {
		return nil
	}
	return keys.Put(ownerKey(r.FileKey), u64(r.ID))
}

// keyOwnerLayout starts every key of the key index written in its present layout (ownerKey).
// Keys written before it are fileKeys as they are, which all start with fileKeyPrefix.
const keyOwnerLayout = 0x01

// fileKeyPrefix is filekey.Prefix, which the journal, a leaf, does not import.
const fileKeyPrefix = "default/"

// ownerKey is fileKey's key in the key index: the watch, the file's name and then the
// SHA-256, instead of the fileKey's own order (watch, SHA-256, name). A fileKey's SHA-256 is
// as good as random, so in that order every confirmed PUT of a burst landed on a leaf of its
// own: with 50 PUTs to a commit and 10,000 keys already indexed, the index alone dirtied and
// wrote a page per file and took a third of the journal's CPU per small file
// (BenchmarkLifecycle). Names mostly come in order (a folder is scanned in name order, an
// export is written file after file), so in this order a commit's new keys are neighbours.
// The mapping is one to one over fileKeys, which all start with fileKeyPrefix: a key of Build's
// shape starts with keyOwnerLayout and reads back (watch and name hold no zero byte, the hash
// is the last 64 bytes), and one of any other shape keeps its own bytes.
func ownerKey(fileKey string) []byte {
	rest, ok := strings.CutPrefix(fileKey, fileKeyPrefix)
	watch, rest, ok2 := strings.Cut(rest, "/")
	sum, name, ok3 := strings.Cut(rest, "/")
	if !ok || !ok2 || !ok3 || len(sum) != 64 || strings.IndexByte(watch, 0) >= 0 || strings.IndexByte(name, 0) >= 0 {
		return []byte(fileKey)
	}
	k := make([]byte, 0, 1+len(watch)+1+len(name)+1+len(sum))
	k = append(k, keyOwnerLayout)
	k = append(append(k, watch...), 0)
	k = append(append(k, name...), 0)
	return append(k, sum...)
}

// keyOwner looks fileKey up in the key index, in its present layout and then as a journal
// written before it stored it. Every fileKey sorts after every key of the present layout, so
// in a journal without older keys the second look-up reads the index's last leaf, the same one
// each time, instead of a page of its own.
func keyOwner(keys *bolt.Bucket, fileKey string) (uint64, bool) {
	v := keys.Get(ownerKey(fileKey))
	if v == nil {
		v = keys.Get([]byte(fileKey))
	}
	if len(v) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(v), true
}

// indexPath keeps the path index, the newest version of each path, in line with the change
// from old (nil for a new record) to r. A version that changed or vanished before it was
// archived gives up its fingerprint so the watcher records the path again when it next sees
// it, even with the same metadata.
func indexPath(tx *bolt.Tx, old, r *Record) error {
	if old != nil && r.State != Superseded && r.State != Vanished {
		return nil // only a new record or an end that gives up the path changes the index
	}
	paths := tx.Bucket(bucketPaths)
	pk := pathKey(r.Watch, string(r.Path))
	cur, ok := decodeFingerprint(paths.Get(pk))
	switch {
	case old == nil:
		if ok && cur.ID != r.ID {
			if err := supersedeHeld(tx, cur.ID, r.ID); err != nil {
				return err
			}
		}
		return paths.Put(pk, fingerprintOf(r).encode())
	case (r.State == Superseded || r.State == Vanished) && ok && cur.ID == r.ID:
		return paths.Delete(pk)
	}
	return nil
}

// supersedeHeld ends held record id once a newer version of its path is recorded as newer: the
// version it held is no longer on disk (a chmod that fixed the permissions, too, makes a new
// version), and the new one is handled, and if need be held, on its own.
func supersedeHeld(tx *bolt.Tx, id, newer uint64) error {
	err := update(tx, id, func(r *Record) ([]Entry, error) {
		if r.State != Held {
			return nil, ErrSkip
		}
		why := fmt.Sprintf("a newer version of the file was recorded as #%d (this one was held: %s)", newer, r.Reason)
		if err := r.Move(Superseded); err != nil {
			return nil, err
		}
		r.Reason, r.HeldLane = why, ""
		return []Entry{{Step: string(Superseded), Result: string(Superseded), Detail: why}}, nil
	})
	if errors.Is(err, ErrSkip) || errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

func appendAudit(tx *bolt.Tx, id uint64, e Entry) error {
	b := tx.Bucket(bucketAudit)
	b.FillPercent = appendFill
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	v := encodeEntry(e)
	if err := b.Put(auditKey(id, seq), v); err != nil {
		return err
	}
	return chainAppend(tx, id, seq, v)
}

// Audit returns record id's audit trail, oldest first.
func (db *DB) Audit(id uint64) ([]Entry, error) {
	var out []Entry
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		prefix := u64(id)
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var e Entry
			if err := decodeEntry(v, &e); err != nil {
				return fmt.Errorf("audit of #%d: %w", id, err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// LookupKeyOwner returns the id of the record whose confirmed PUT stored fileKey, or the
// error of a failed read.
func (db *DB) LookupKeyOwner(fileKey string) (uint64, bool, error) {
	var id uint64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		id, _ = keyOwner(tx.Bucket(bucketKeys), fileKey)
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("journal: key owner of %s: %w", fileKey, err)
	}
	return id, id != 0, nil
}

// ReleaseHeld puts every releasable held record (and only those matching match, if not nil)
// back to work, with an audit entry giving why. It returns how many were released.
func (db *DB) ReleaseHeld(why string, now time.Time, match func(r *Record) bool) (int, error) {
	var ids []uint64
	err := db.Each(func(r *Record) bool {
		if r.Releasable() && (match == nil || match(r)) {
			ids = append(ids, r.ID)
		}
		return true
	})
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	n := 0
	err = db.UpdateMany(ids, func(r *Record) ([]Entry, error) {
		if !r.Releasable() {
			return nil, ErrSkip
		}
		if err := r.Release(now); err != nil {
			return nil, err
		}
		n++
		return []Entry{{Time: now, Step: "released", Result: "ok", Detail: why}}, nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// LookupMeta returns a value the daemon stored with SetMeta ("" if none), or the error of a
// failed read: a caller must not take a read it could not make for "never stored".
func (db *DB) LookupMeta(key string) (string, error) {
	var v string
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v = string(tx.Bucket(bucketMeta).Get([]byte("daemon/" + key)))
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("journal: read %s: %w", key, err)
	}
	return v, nil
}

// SetMeta stores a small value for the daemon (config fingerprint, last reconciliation).
func (db *DB) SetMeta(key, value string) error {
	return db.write(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put([]byte("daemon/"+key), []byte(value))
	})
}

// DueItem is one pending lane of one record.
type DueItem struct {
	ID  uint64
	Due time.Time
}

// DueIn returns up to limit items of lane due at or before now, earliest first, leaving out
// those skip rejects (work already in flight). next is the due time of the earliest item not
// yet due (zero if none), so the caller knows how long it may sleep. A record is returned
// once, even if a damaged key names it twice.
func (db *DB) DueIn(lane string, now time.Time, limit int, skip func(id uint64) bool) (items []DueItem, next time.Time, err error) {
	return db.dueScan(lane, nil, now, limit, skip)
}

// DueAfter is DueIn for the items of lane after item after in the due index (due later, or
// at the same time with a larger id): a caller that hands out a long backlog a few items at a
// time resumes there instead of stepping again over everything it has in flight. It does not
// see an item due before after that is still due; the caller scans from the start (DueIn)
// when DueAfter finds nothing.
func (db *DB) DueAfter(lane string, after DueItem, now time.Time, limit int, skip func(id uint64) bool) (items []DueItem, next time.Time, err error) {
	return db.dueScan(lane, dueKey(after.Due, after.ID), now, limit, skip)
}

// dueScan reads the due index of lane from the first key after start (from the first key if
// start is nil).
func (db *DB) dueScan(lane string, start []byte, now time.Time, limit int, skip func(id uint64) bool) (items []DueItem, next time.Time, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDue).Bucket([]byte(lane))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		var k []byte
		if start == nil {
			k, _ = c.First()
		} else if k, _ = c.Seek(start); k != nil && bytes.Equal(k, start) {
			k, _ = c.Next()
		}
		seen := map[uint64]bool{}
		for ; k != nil; k, _ = c.Next() {
			t, id := decodeDueKey(k)
			if t.After(now) {
				next = t
				return nil
			}
			if seen[id] || (skip != nil && skip(id)) {
				continue
			}
			seen[id] = true
			if len(items) >= limit {
				return nil
			}
			items = append(items, DueItem{ID: id, Due: t})
		}
		return nil
	})
	return items, next, err
}

// Counts returns the number of records in each state.
func (db *DB) Counts() (map[State]int64, error) {
	out := map[State]int64{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		for _, s := range States {
			if v := meta.Get(countKey(s)); len(v) == 8 {
				out[s] = int64(binary.BigEndian.Uint64(v))
			}
		}
		return nil
	})
	return out, err
}

// Each calls fn for every record in id order until fn returns false. A record that cannot be
// decoded is left out (the daemon quarantines it when its work comes due; `archivist journal
// check --full` lists it), so one damaged value does not hide all the others.
func (db *DB) Each(fn func(r *Record) bool) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRecords).Cursor()
		n := 0
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if n++; n%trimRecords == 0 {
				db.bolt.trim.trim(tx)
			}
			r := new(Record)
			if err := decodeRecord(v, r); err != nil {
				continue
			}
			if !fn(r) {
				return nil
			}
		}
		return nil
	})
}

// Check verifies that every index agrees with the records (tests call it after each run).
func (db *DB) Check() error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		counts := map[State]int64{}
		lanes := map[string]int{}
		c := tx.Bucket(bucketRecords).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			r := new(Record)
			if err := decodeRecord(v, r); err != nil {
				return fmt.Errorf("record #%d: %w", binary.BigEndian.Uint64(k), err)
			}
			counts[r.State]++
			for lane, t := range r.Lanes {
				lanes[lane]++
				b := tx.Bucket(bucketDue).Bucket([]byte(lane))
				if b == nil || b.Get(dueKey(t, r.ID)) == nil {
					return fmt.Errorf("record %s: lane %s due %s missing from the due index", r, lane, t)
				}
			}
		}
		meta := tx.Bucket(bucketMeta)
		for _, s := range States {
			var n int64
			if v := meta.Get(countKey(s)); len(v) == 8 {
				n = int64(binary.BigEndian.Uint64(v))
			}
			// A quarantined record's state is unknown: its count stays, so counts may exceed.
			if n != counts[s] && (n < counts[s] || n-counts[s] > int64(quarantined(tx))) {
				return fmt.Errorf("count of %s is %d, records say %d", s, n, counts[s])
			}
		}
		return tx.Bucket(bucketDue).ForEachBucket(func(name []byte) error {
			if n := tx.Bucket(bucketDue).Bucket(name).Stats().KeyN; n != lanes[string(name)] {
				return fmt.Errorf("due index of lane %s has %d entries, records say %d", name, n, lanes[string(name)])
			}
			return nil
		})
	})
}

func countKey(s State) []byte { return []byte("count/" + string(s)) }

func addCount(meta *bolt.Bucket, s State, delta int64) error {
	var n int64
	if v := meta.Get(countKey(s)); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	return meta.Put(countKey(s), u64(uint64(n+delta)))
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func dueKey(t time.Time, id uint64) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, uint64(t.UnixNano()))
	binary.BigEndian.PutUint64(b[8:], id)
	return b
}

func decodeDueKey(k []byte) (time.Time, uint64) {
	return time.Unix(0, int64(binary.BigEndian.Uint64(k))), binary.BigEndian.Uint64(k[8:])
}

// Release puts record id back to work now: a held record where it was held, a pending one
// with its waits cut short. It reports whether there was anything to do.
func (db *DB) Release(id uint64, why string, now time.Time) (bool, error) {
	changed := false
	err := db.Update(id, func(r *Record) ([]Entry, error) {
		switch {
		case r.Releasable():
			if err := r.Release(now); err != nil {
				return nil, err
			}
		case len(r.Lanes) > 0:
			for lane := range r.Lanes {
				r.Schedule(lane, now)
			}
			r.Attempts = 0
		default:
			return nil, ErrSkip
		}
		changed = true
		return []Entry{{Time: now, Step: "released", Result: "ok", Detail: why}}, nil
	})
	return changed, err
}

// ReleaseForward puts record id's forward to destination back to work now, if it was held
// or is waiting for a retry. It reports whether there was anything to do.
func (db *DB) ReleaseForward(id uint64, destination, why string, now time.Time) (bool, error) {
	changed := false
	err := db.Update(id, func(r *Record) ([]Entry, error) {
		f := r.Forwards[destination]
		if f == nil || (f.State != ForwardHeld && f.State != ForwardPending) {
			return nil, ErrSkip
		}
		f.State, f.Reason, f.Attempts = ForwardPending, "", 0
		r.Schedule(ForwardLane(destination), now)
		changed = true
		return []Entry{{Time: now, Step: "released", Lane: ForwardLane(destination), Result: "ok", Detail: why}}, nil
	})
	return changed, err
}

// LaneCounts returns how many items each lane has pending.
func (db *DB) LaneCounts() (map[string]int, error) {
	out := map[string]int{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDue).ForEachBucket(func(name []byte) error {
			out[string(name)] = tx.Bucket(bucketDue).Bucket(name).Stats().KeyN
			return nil
		})
	})
	return out, err
}

// LookupFirstDue returns the earliest item of lane, if any, or the error of a failed read.
func (db *DB) LookupFirstDue(lane string) (DueItem, bool, error) {
	var it DueItem
	var ok bool
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketDue).Bucket([]byte(lane)); b != nil {
			if k, _ := b.Cursor().First(); k != nil {
				it.Due, it.ID = decodeDueKey(k)
				ok = true
			}
		}
		return nil
	})
	if err != nil {
		return DueItem{}, false, fmt.Errorf("journal: first due of %s: %w", lane, err)
	}
	return it, ok, nil
}
