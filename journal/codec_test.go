package journal

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fill sets every field of the struct v points to, recursively, to a value that is not zero,
// so that a field the codec forgets shows up as a difference after the round trip.
func fill(t testing.TB, v reflect.Value, seed *int) {
	t.Helper()
	*seed++
	n := *seed
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), seed)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			// Before 1678 and after 2262 too: UnixNano cannot hold those, the codec must.
			v.Set(reflect.ValueOf(time.Date(1500+n*37, time.Month(n%12+1), n%28+1, n%24, n%60, n%60, n*1013, time.UTC)))
			return
		}
		for i := range v.NumField() {
			fill(t, v.Field(i), seed)
		}
	case reflect.String:
		v.SetString(string([]byte{'s', byte('a' + n%26), 0xff, byte(n)})) // not UTF-8 either
	case reflect.Int, reflect.Int64:
		v.SetInt(-int64(n) * 1_000_003)
	case reflect.Uint64:
		v.SetUint(1<<63 + uint64(n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for range 2 {
			k := reflect.New(v.Type().Key()).Elem()
			fill(t, k, seed)
			e := reflect.New(v.Type().Elem()).Elem()
			fill(t, e, seed)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	default:
		t.Fatalf("fill: no rule for %s", v.Type())
	}
}

func TestCodecRoundTripsEveryField(t *testing.T) {
	seed := 0
	var r Record
	fill(t, reflect.ValueOf(&r).Elem(), &seed)
	var got Record
	if err := decodeRecord(encodeRecord(&r), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("record round trip\n got %+v\nwant %+v", got, r)
	}

	var e Entry
	fill(t, reflect.ValueOf(&e).Elem(), &seed)
	var gotE Entry
	if err := decodeEntry(encodeEntry(e), &gotE); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotE, e) {
		t.Fatalf("entry round trip\n got %+v\nwant %+v", gotE, e)
	}

	// The zero record is one byte, and decodes to the zero record.
	if b := encodeRecord(&Record{}); len(b) != 1 {
		t.Fatalf("zero record encodes to %d bytes", len(b))
	}
}

// A field written by a later version is skipped, not misread, and the known ones still read.
func TestCodecSkipsUnknownFields(t *testing.T) {
	r := &Record{ID: 7, Watch: "w", Path: "a.txt", State: Posted}
	b := encodeRecord(r)
	e := enc{b: b}
	e.str(999, "a later version's text")
	e.uint(1000, 12345)
	e.group(rShare, func(g *enc) { g.str(sText, "shared"); g.uint(77, 1) })
	var got Record
	if err := decodeRecord(e.b, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != 7 || got.Path != "a.txt" || got.State != Posted || got.Share == nil || got.Share.Text != "shared" {
		t.Fatalf("got %+v", got)
	}
}

func TestCodecRejectsCorruptValues(t *testing.T) {
	good := encodeRecord(&Record{ID: 7, Watch: "w", ModTime: time.Now()})
	for name, b := range map[string][]byte{
		"empty":            {},
		"unknown version":  {0x02, 0x08, 0x01},
		"cut short":        good[:len(good)-3],
		"bad wire type":    {binaryV1, byte(rID<<3 | 5), 1},
		"string as int":    {binaryV1, byte(rWatch<<3 | wireVarint), 1},
		"long length":      {binaryV1, byte(rWatch<<3 | wireBytes), 0x7f, 'a'},
		"tag zero":         {binaryV1, 0x00, 0x01},
		"bad nanoseconds":  badTime(1, 2e9),
		"seconds overflow": badTime(1<<62, 0),
	} {
		if err := decodeRecord(b, new(Record)); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: %v, want errCorrupt", name, err)
		}
	}
}

// badTime is a record whose ModTime holds sec and nsec.
func badTime(sec int64, nsec uint64) []byte {
	v := binary.AppendUvarint(binary.AppendVarint(nil, sec), nsec)
	return append([]byte{binaryV1, byte(rModTime<<3 | wireBytes), byte(len(v))}, v...)
}

// A schema 1 journal (JSON values) opens, is upgraded, reads as before, and its records are
// rewritten in binary as they change.
func TestSchema1JournalIsReadAndUpgraded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := insert(t, db, newRec("old.txt", 3))[0]
	db.Close()

	// Turn it into what schema 1 wrote: JSON record and audit entry, version 1.
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		rec, err := getRecord(tx, r.ID)
		if err != nil {
			return err
		}
		rec.Path = RelPath("old\xff.txt") // schema 1 kept such a path as {"b64": ...}
		v, _ := json.Marshal(rec)
		if err := tx.Bucket(bucketRecords).Put(u64(r.ID), v); err != nil {
			return err
		}
		c := tx.Bucket(bucketAudit).Cursor()
		k, _ := c.First()
		ev, _ := json.Marshal(Entry{Time: time.Now(), Step: "discovered", Result: "ok", Detail: "from schema 1"})
		if err := tx.Bucket(bucketAudit).Put(k, ev); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySchema, u64(1))
	})
	b.Close()
	if err != nil {
		t.Fatal(err)
	}

	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Get(r.ID)
	if err != nil || got.Path != "old\xff.txt" || got.State != Discovered {
		t.Fatalf("schema 1 record: %+v, %v", got, err)
	}
	if a, err := db.Audit(r.ID); err != nil || len(a) != 1 || a[0].Detail != "from schema 1" {
		t.Fatalf("schema 1 audit: %+v, %v", a, err)
	}
	if err := db.Update(r.ID, func(r *Record) ([]Entry, error) {
		r.Attempts = 1
		return []Entry{{Step: "put", Result: "error"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketRecords).Get(u64(r.ID)); v[0] != binaryV1 {
			t.Errorf("rewritten record starts with %q", v[0])
		}
		if v := tx.Bucket(bucketMeta).Get(keySchema); binary.BigEndian.Uint64(v) != SchemaVersion {
			t.Errorf("schema after open: %d", binary.BigEndian.Uint64(v))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Get(r.ID); got.Path != "old\xff.txt" || got.Attempts != 1 {
		t.Fatalf("after rewrite: %+v", got)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// FuzzDecodeRecord: no stored value, however damaged, makes decoding panic, and whatever
// decodes encodes to a value that decodes to the same record.
func FuzzDecodeRecord(f *testing.F) {
	seed := 0
	var full Record
	fill(f, reflect.ValueOf(&full).Elem(), &seed)
	f.Add(encodeRecord(&full))
	f.Add(encodeRecord(&Record{ID: 1, Watch: "w", Path: "p", Lanes: map[string]time.Time{LanePut: time.Unix(1, 2)}}))
	f.Add([]byte(`{"id":1,"path":{"b64":"/w=="}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Record
		if decodeRecord(b, &r) != nil || len(b) == 0 || b[0] != binaryV1 {
			return
		}
		var again Record
		if err := decodeRecord(encodeRecord(&r), &again); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(normalize(r), normalize(again)) {
			t.Fatalf("round trip\n got %+v\nwant %+v", again, r)
		}
	})
}

// normalize drops what the encoding leaves out on purpose: empty maps are no map.
func normalize(r Record) Record {
	if len(r.Lanes) == 0 {
		r.Lanes = nil
	}
	if len(r.Forwards) == 0 {
		r.Forwards = nil
	}
	for k, f := range r.Forwards {
		if f == nil {
			delete(r.Forwards, k)
		}
	}
	return r
}
