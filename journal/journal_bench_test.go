package journal

// Benchmarks of journal commits. They run with the default options (fsync on every commit,
// as the daemon does), so their numbers depend on the disk under the test's temp folder; run
// them where the journal will live. "make bench" runs them; "go test" alone does not.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// benchJournal opens a journal in b.TempDir with n posted-like records already in it.
func benchJournal(b *testing.B, n int) (*DB, []uint64) {
	b.Helper()
	db, err := Open(b.TempDir()+"/journal.db", Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	var ids []uint64
	for start := 0; start < n; start += 1000 {
		recs, first := benchRecords(start, min(1000, n-start))
		stored, err := db.Insert(recs, first)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range stored {
			ids = append(ids, r.ID)
		}
	}
	return db, ids
}

// benchRecords returns n records as the pipeline's Intake makes them, numbered from start.
func benchRecords(start, n int) ([]*Record, []Entry) {
	now := time.Now()
	recs := make([]*Record, n)
	first := make([]Entry, n)
	for i := range n {
		k := start + i
		recs[i] = &Record{
			Watch: "bench", Path: RelPath(fmt.Sprintf("export-%03d/file-%07d.txt", k/1000, k)), Kind: "file",
			Size: 4096, ModTime: now.Add(-time.Duration(k) * time.Millisecond), Inode: uint64(1_000_000 + k), Dev: 2049, Nlink: 1,
			CTime: now, State: Discovered, DiscoveredAt: now,
		}
		recs[i].Schedule(LanePut, now)
		first[i] = Entry{Time: now, Step: "discovered", Result: "ok", Detail: "file of 4096 bytes settled"}
	}
	return recs, first
}

// touch is a typical small state change: a failed attempt recorded and rescheduled, with one
// audit entry, the same shape of write as "uploaded" or "posted".
func touch(r *Record) ([]Entry, error) {
	r.Attempts++
	r.LastError = "put default/bench/...: 503 Service Unavailable"
	r.Schedule(LanePut, time.Now().Add(time.Second))
	return []Entry{{Step: "put", Lane: LanePut, Result: "error", Status: 503, Detail: "503 Service Unavailable; retry"}}, nil
}

func reportCommits(b *testing.B, commits int64) {
	b.ReportMetric(float64(commits)/b.Elapsed().Seconds(), "commits/s")
}

// BenchmarkUpdateOneTxPerCommit is the floor of a durable commit: one write transaction (one
// fsync) per record change, from one goroutine (UpdateMany with a single id).
func BenchmarkUpdateOneTxPerCommit(b *testing.B) {
	db, ids := benchJournal(b, 1000)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := db.UpdateMany(ids[i%len(ids):i%len(ids)+1], touch); err != nil {
			b.Fatal(err)
		}
	}
	reportCommits(b, int64(b.N))
}

// BenchmarkUpdateBatchedSingleCaller is Update (bbolt Batch) from one goroutine: nothing to
// coalesce with, so each call also waits for the batch timer (bbolt's MaxBatchDelay, 10ms).
func BenchmarkUpdateBatchedSingleCaller(b *testing.B) {
	db, ids := benchJournal(b, 1000)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := db.Update(ids[i%len(ids)], touch); err != nil {
			b.Fatal(err)
		}
	}
	reportCommits(b, int64(b.N))
}

// BenchmarkUpdateBatchedConcurrent is Update from many goroutines at once, as the upload
// workers call it: bbolt Batch coalesces them into shared transactions.
func BenchmarkUpdateBatchedConcurrent(b *testing.B) {
	for _, callers := range []int{4, 32} {
		b.Run("callers="+strconv.Itoa(callers), func(b *testing.B) {
			db, ids := benchJournal(b, 1000)
			var next, done atomic.Int64
			// RunParallel starts GOMAXPROCS*p goroutines; aim at about callers of them.
			b.SetParallelism(max(1, callers/max(1, runtimeProcs())))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := ids[int(next.Add(1))%len(ids)]
					if err := db.Update(id, touch); err != nil {
						b.Error(err)
						return
					}
					done.Add(1)
				}
			})
			reportCommits(b, done.Load())
		})
	}
}

// BenchmarkInsertBatch is the watcher's intake: one transaction per batch of new records.
func BenchmarkInsertBatch(b *testing.B) {
	for _, size := range []int{1, 100, 1000} {
		b.Run("records="+strconv.Itoa(size), func(b *testing.B) {
			db, err := Open(b.TempDir()+"/journal.db", Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			n := 0
			for b.Loop() {
				recs, first := benchRecords(n, size)
				if _, err := db.Insert(recs, first); err != nil {
					b.Fatal(err)
				}
				n += size
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkKnown is the rescan's only journal work per file: one read transaction.
func BenchmarkKnown(b *testing.B) {
	db, ids := benchJournal(b, 10_000)
	recs := make([]*Record, len(ids))
	for i, id := range ids {
		r, err := db.Get(id)
		if err != nil {
			b.Fatal(err)
		}
		recs[i] = r
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r := recs[i%len(recs)]
		if !known(b, db, r.Watch, string(r.Path), r.Version()) {
			b.Fatal("a recorded version is not known")
		}
	}
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// BenchmarkLifecycle is the journal's whole share of archiving one small file, as the daemon
// writes it in a burst: the intake inserts files 1,000 to a transaction, the upload
// committer records "uploaded" 50 to a transaction, the poster records "posted" 100 to a
// transaction (one event request), each change with its audit entry. It reports wall time,
// the process's CPU and the pages written per file: the floor of the daemon's journal work
// per small file (issue 13 asks what 0.7 of the raw PUT loop would take). The files' names
// come in order (a folder moved in and scanned), or in none (names such as UUIDs); their
// contents, and so their fileKeys' hashes, in none.
func BenchmarkLifecycle(b *testing.B) {
	b.Run("names-in-order", func(b *testing.B) { benchLifecycle(b, false) })
	b.Run("names-in-no-order", func(b *testing.B) { benchLifecycle(b, true) })
}

func benchLifecycle(b *testing.B, shuffled bool) {
	db, err := Open(b.TempDir()+"/journal.db", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const batch = 1000
	files := 0
	cpu0 := processCPU(b)
	for b.Loop() {
		recs, first := benchRecords(files, batch)
		if shuffled {
			for _, r := range recs {
				sum := sha256.Sum256([]byte(r.Path))
				r.Path = RelPath(fmt.Sprintf("export/%x.txt", sum[:16]))
			}
		}
		stored, err := db.Insert(recs, first)
		if err != nil {
			b.Fatal(err)
		}
		ids := make([]uint64, len(stored))
		for i, r := range stored {
			ids[i] = r.ID
		}
		for part := range slices.Chunk(ids, 50) {
			changes := make([]Change, len(part))
			for i, id := range part {
				changes[i] = Change{ID: id, Fn: benchUploaded}
			}
			if err := db.UpdateEach(changes); err != nil {
				b.Fatal(err)
			}
		}
		for part := range slices.Chunk(ids, 100) {
			if err := db.UpdateMany(part, benchPosted); err != nil {
				b.Fatal(err)
			}
		}
		files += batch
	}
	reportPerFile(b, files, cpu0, db.bolt.DB)
}

// reportPerFile reports a lifecycle benchmark's wall time, the process's CPU since cpu0 and
// the pages bd wrote, per file of files.
func reportPerFile(b *testing.B, files int, cpu0 time.Duration, bd *bolt.DB) {
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(files), "µs/file")
	b.ReportMetric((processCPU(b)-cpu0).Seconds()*1e6/float64(files), "cpu-µs/file")
	st := bd.Stats().TxStats
	b.ReportMetric(float64(st.GetWrite())/float64(files), "pages/file")
}

// BenchmarkLifecycleFloor is what BenchmarkLifecycle's three durable changes per file cost a
// bbolt journal that keeps less than this one, in transactions of the same sizes (1,000, 50
// and 100 files) with an fsync on each: "records-only" rewrites the record for each change
// (decoded, changed as the daemon changes it, encoded) and keeps no index, no state count, no
// audit entry and no chain; "log-only" appends each change's audit entry to a log and keeps
// nothing else, which is the least any journal that makes the three changes durable can write.
// Neither is a journal the daemon could run on (the lanes find their work through the due
// index, dedup through the key index, the report through the audit trail): they bound what a
// different design could save (docs/benchmarks.md, issue 13).
func BenchmarkLifecycleFloor(b *testing.B) {
	b.Run("records-only", func(b *testing.B) { benchLifecycleFloor(b, false) })
	b.Run("log-only", func(b *testing.B) { benchLifecycleFloor(b, true) })
}

func benchLifecycleFloor(b *testing.B, logOnly bool) {
	db, err := bolt.Open(b.TempDir()+"/floor.db", 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	name := []byte("floor")
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(name); return err }); err != nil {
		b.Fatal(err)
	}
	// change commits one change to each of recs in one transaction. A log entry's key is the
	// log's next sequence number; a record's is its ID.
	change := func(recs []*Record, fn func(r *Record) ([]Entry, error)) {
		err := db.Update(func(tx *bolt.Tx) error {
			bk := tx.Bucket(name)
			bk.FillPercent = appendFill
			for _, r := range recs {
				if !logOnly && r.ID != 0 {
					if err := decodeRecord(bk.Get(u64(r.ID)), r); err != nil {
						return err
					}
				}
				entries, err := fn(r)
				if err != nil {
					return err
				}
				if !logOnly {
					if r.ID == 0 {
						if r.ID, err = bk.NextSequence(); err != nil {
							return err
						}
					}
					if err := bk.Put(u64(r.ID), encodeRecord(r)); err != nil {
						return err
					}
					continue
				}
				for _, e := range entries {
					seq, err := bk.NextSequence()
					if err != nil {
						return err
					}
					if err := bk.Put(u64(seq), encodeEntry(e)); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	const batch = 1000
	files := 0
	cpu0 := processCPU(b)
	for b.Loop() {
		recs, first := benchRecords(files, batch)
		if logOnly {
			for i, r := range recs {
				r.ID = uint64(files + i + 1)
			}
		}
		next := 0 // recorded runs once per record, in order: its audit entry is first[next]
		recorded := func(*Record) ([]Entry, error) { next++; return []Entry{first[next-1]}, nil }
		change(recs, recorded)
		for part := range slices.Chunk(recs, 50) {
			change(part, benchUploaded)
		}
		for part := range slices.Chunk(recs, 100) {
			change(part, benchPosted)
		}
		files += batch
	}
	reportPerFile(b, files, cpu0, db)
}

// benchUploaded is the upload committer's change of a confirmed PUT (upload.Lane.uploaded).
func benchUploaded(r *Record) ([]Entry, error) {
	now := time.Now()
	if err := r.Move(Uploaded); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(u64(r.ID)) // as good as random, as real contents' hashes are
	r.SHA256 = hex.EncodeToString(sum[:])
	r.MIME, r.FileKey = "application/octet-stream", "default/bench/"+r.SHA256+"/"+path.Base(string(r.Path))
	r.UploadedAt = now
	r.Done(LanePut)
	r.Schedule(LanePost, now)
	return []Entry{{Time: now, Step: "put", Lane: LanePut, Result: "ok", FileKey: r.FileKey, Status: 200,
		Detail: "4096 bytes, application/octet-stream, in 1ms"}}, nil
}

// benchPosted is the poster's change once the event request was accepted.
func benchPosted(r *Record) ([]Entry, error) {
	now := time.Now()
	if err := r.Move(Posted); err != nil {
		return nil, err
	}
	r.PostedAt, r.RequestID = now, "0727b651-c680-42e9-93d5-c6d5d2873f2b"
	r.Done(LanePost)
	return []Entry{{Time: now, Step: "post", Lane: LanePost, Result: "ok", FileKey: r.FileKey, Status: 200,
		RequestID: r.RequestID, Detail: "File_transfer event accepted in a conversation of 100 events"}}, nil
}

// processCPU is the user and system time the test process has used so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
