package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
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
}

// DB is an open journal.
type DB struct {
	bolt  *bolt.DB
	path  string
	fault func() error
}

// Open opens or creates the journal at path.
func Open(path string, o Options) (*DB, error) {
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if !o.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("journal %s: %w", path, err)
		}
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.Timeout, ReadOnly: o.ReadOnly, NoSync: o.NoSync, InitialMmapSize: initialMmap})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("journal %s: %w (is another archivist running?); gave up after %s", path, ErrLocked, o.Timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	db := &DB{bolt: b, path: path, fault: o.WriteFault}
	if o.ReadOnly {
		err = b.View(db.checkSchema)
	} else {
		err = b.Update(db.init)
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	return db, nil
}

func (db *DB) init(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketMeta, bucketRecords, bucketPaths, bucketDue, bucketKeys, bucketAudit, bucketConversations} {
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

// Fingerprint identifies one version of a path as the watcher saw it.
type Fingerprint struct {
	ID      uint64
	Size    int64
	ModTime int64 // unix ns
	Inode   uint64
	Kind    string
}

func (f Fingerprint) encode() []byte {
	b := make([]byte, 32, 32+len(f.Kind))
	binary.BigEndian.PutUint64(b[0:], f.ID)
	binary.BigEndian.PutUint64(b[8:], uint64(f.Size))
	binary.BigEndian.PutUint64(b[16:], uint64(f.ModTime))
	binary.BigEndian.PutUint64(b[24:], f.Inode)
	return append(b, f.Kind...)
}

// Is reports whether the fingerprint describes exactly this version.
func (f Fingerprint) Is(size int64, mtime time.Time, inode uint64, kind string) bool {
	return f.Size == size && f.ModTime == mtime.UnixNano() && f.Inode == inode && f.Kind == kind
}

// fingerprintOf is the fingerprint of record r's version.
func fingerprintOf(r *Record) Fingerprint {
	return Fingerprint{ID: r.ID, Size: r.Size, ModTime: r.ModTime.UnixNano(), Inode: r.Inode, Kind: r.Kind}
}

func decodeFingerprint(b []byte) (Fingerprint, bool) {
	if len(b) < 32 {
		return Fingerprint{}, false
	}
	return Fingerprint{
		ID:      binary.BigEndian.Uint64(b[0:]),
		Size:    int64(binary.BigEndian.Uint64(b[8:])),
		ModTime: int64(binary.BigEndian.Uint64(b[16:])),
		Inode:   binary.BigEndian.Uint64(b[24:]),
		Kind:    string(b[32:]),
	}, true
}

func pathKey(watch, rel string) []byte {
	k := make([]byte, 0, len(watch)+1+len(rel))
	k = append(k, watch...)
	k = append(k, 0)
	return append(k, rel...)
}

// Current returns the fingerprint of the newest recorded version of watch:rel.
func (db *DB) Current(watch, rel string) (Fingerprint, bool) {
	var fp Fingerprint
	var ok bool
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		fp, ok = decodeFingerprint(tx.Bucket(bucketPaths).Get(pathKey(watch, rel)))
		return nil
	})
	return fp, ok
}

// Known reports whether exactly this version of watch:rel is recorded already.
func (db *DB) Known(watch, rel string, size int64, mtime time.Time, inode uint64, kind string) bool {
	fp, ok := db.Current(watch, rel)
	return ok && fp.Is(size, mtime, inode, kind)
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
	if err := decodeRecord(v, r); err != nil {
		return nil, fmt.Errorf("record #%d: %w", id, err)
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
			if ok && fp.Is(r.Size, r.ModTime, r.Inode, r.Kind) {
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
			if ok {
				if err := retire(tx, fp.ID, &nr); err != nil {
					return err
				}
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

// retire supersedes record id, a held entry that was not a regular file, now that nr (a new
// version, a regular file) replaced it at its path; any other record is left alone.
func retire(tx *bolt.Tx, id uint64, nr *Record) error {
	cur, err := getRecord(tx, id)
	if err != nil || !heldOther(cur) {
		return nil
	}
	old := *cur
	cur.State = Superseded
	cur.Reason = fmt.Sprintf("replaced by a %s, recorded as #%d", nr.Kind, nr.ID)
	if err := put(tx, &old, cur); err != nil {
		return err
	}
	return appendAudit(tx, id, Entry{Time: nr.DiscoveredAt, Step: "superseded", Result: "ok", Detail: cur.Reason})
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

	// State counts.
	meta := tx.Bucket(bucketMeta)
	if old == nil || old.State != r.State {
		if old != nil {
			if err := addCount(meta, old.State, -1); err != nil {
				return err
			}
		}
		if err := addCount(meta, r.State, 1); err != nil {
			return err
		}
	}

	// Due index: one sub-bucket per lane.
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

	// Path index: the newest version of a path. A version that changed or vanished before it
	// was archived gives up its fingerprint so the watcher records the path again when it
	// next sees it, even with the same size and mtime.
	paths := tx.Bucket(bucketPaths)
	pk := pathKey(r.Watch, string(r.Path))
	cur, ok := decodeFingerprint(paths.Get(pk))
	switch {
	case old == nil:
		if err := paths.Put(pk, fingerprintOf(r).encode()); err != nil {
			return err
		}
	case (r.State == Superseded || r.State == Vanished) && ok && cur.ID == r.ID:
		if err := paths.Delete(pk); err != nil {
			return err
		}
	}

	// Key index: the first record whose PUT of a key was confirmed.
	if r.FileKey != "" && r.DuplicateOf == 0 && (r.State == Uploaded || r.State == Posted) {
		keys := tx.Bucket(bucketKeys)
		if keys.Get([]byte(r.FileKey)) == nil {
			if err := keys.Put([]byte(r.FileKey), u64(r.ID)); err != nil {
				return err
			}
		}
	}
	return nil
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
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, id)
	binary.BigEndian.PutUint64(k[8:], seq)
	return b.Put(k, encodeEntry(e))
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

// KeyOwner returns the id of the record whose confirmed PUT stored fileKey.
func (db *DB) KeyOwner(fileKey string) (uint64, bool) {
	var id uint64
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketKeys).Get([]byte(fileKey)); len(v) == 8 {
			id = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return id, id != 0
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
		r.Release(now)
		n++
		return []Entry{{Time: now, Step: "released", Result: "ok", Detail: why}}, nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Meta returns a value the daemon stored with SetMeta ("" if none).
func (db *DB) Meta(key string) string {
	var v string
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		v = string(tx.Bucket(bucketMeta).Get([]byte("daemon/" + key)))
		return nil
	})
	return v
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
// yet due (zero if none), so the caller knows how long it may sleep.
func (db *DB) DueIn(lane string, now time.Time, limit int, skip func(id uint64) bool) (items []DueItem, next time.Time, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDue).Bucket([]byte(lane))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			t, id := decodeDueKey(k)
			if t.After(now) {
				next = t
				return nil
			}
			if skip != nil && skip(id) {
				continue
			}
			if len(items) >= limit {
				return nil
			}
			items = append(items, DueItem{ID: id, Due: t})
		}
		return nil
	})
	return items, next, err
}

// NextDue returns the due time of lane's earliest item.
func (db *DB) NextDue(lane string) (time.Time, bool) {
	var t time.Time
	var ok bool
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketDue).Bucket([]byte(lane)); b != nil {
			if k, _ := b.Cursor().First(); k != nil {
				t, _ = decodeDueKey(k)
				ok = true
			}
		}
		return nil
	})
	return t, ok
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

// Each calls fn for every record in id order until fn returns false.
func (db *DB) Each(fn func(r *Record) bool) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRecords).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			r := new(Record)
			if err := decodeRecord(v, r); err != nil {
				return fmt.Errorf("record #%d: %w", binary.BigEndian.Uint64(k), err)
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
			if n != counts[s] {
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
			r.Release(now)
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

// FirstDue returns the earliest item of lane, if any.
func (db *DB) FirstDue(lane string) (DueItem, bool) {
	var it DueItem
	var ok bool
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketDue).Bucket([]byte(lane)); b != nil {
			if k, _ := b.Cursor().First(); k != nil {
				it.Due, it.ID = decodeDueKey(k)
				ok = true
			}
		}
		return nil
	})
	return it, ok
}
