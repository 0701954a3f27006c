package main

// Test data: real bytes (never sparse), unique per file so that no two files share a fileKey,
// and journals built directly with the journal package.

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/archivist-project/archivist/journal"
)

// writeSmallFiles writes n files of size bytes into dir, spread over folders of perDir files
// (perDir <= 0: all in dir). Each file's bytes come from a PRNG seeded with its index.
func writeSmallFiles(dir string, n, size, perDir int) error {
	buf := make([]byte, size)
	for i := range n {
		sub := dir
		if perDir > 0 {
			sub = filepath.Join(dir, fmt.Sprintf("export-%04d", i/perDir))
		}
		if perDir <= 0 && i == 0 || perDir > 0 && i%perDir == 0 {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return err
			}
		}
		var seed [32]byte
		binary.LittleEndian.PutUint64(seed[:], uint64(i)+1)
		rand.NewChaCha8(seed).Read(buf)
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("file-%07d.bin", i)), buf, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeBigFile writes size pseudo-random bytes to path in 1 MiB chunks.
func writeBigFile(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	rng := rand.NewChaCha8([32]byte{'b', 'i', 'g'})
	for left := size; left > 0; left -= int64(len(buf)) {
		rng.Read(buf)
		if _, err := f.Write(buf[:min(left, int64(len(buf)))]); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// postedRecord is a record of a file archived long ago, as the pipeline leaves it.
func postedRecord(rel string, size int64, mtime time.Time, inode, dev uint64, i int) (*journal.Record, journal.Entry) {
	now := time.Now()
	sum := fmt.Sprintf("%064x", i)
	r := &journal.Record{
		Watch: watchName, Path: journal.RelPath(rel), Kind: "file", Size: size, ModTime: mtime, Inode: inode, Dev: dev, Nlink: 1,
		SHA256: sum, MIME: "application/octet-stream", FileKey: "default/" + watchName + "/" + sum + "/" + filepath.Base(rel),
		State: journal.Posted, RequestID: fmt.Sprintf("bench-%d", i),
		DiscoveredAt: now, UploadedAt: now, PostedAt: now,
	}
	return r, journal.Entry{Time: now, Step: "post", Lane: journal.LanePost, Result: "ok", FileKey: r.FileKey, Status: 200,
		Detail: "File_transfer event accepted in a conversation of 100 events"}
}

// journalFromTree records every regular file under root as posted, with the size, mtime,
// change time and inode the watcher will see, so that the daemon's Known() skips each of them.
func journalFromTree(path, root string) (int, error) {
	j, err := journal.Open(path, journal.Options{NoSync: true})
	if err != nil {
		return 0, err
	}
	defer j.Close()
	var recs []*journal.Record
	var first []journal.Entry
	n := 0
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		stored, err := j.Insert(recs, first)
		n += len(stored)
		recs, first = recs[:0], first[:0]
		return err
	}
	files, err := listFiles(root)
	if err != nil {
		return 0, err
	}
	for i, p := range files {
		fi, err := os.Lstat(p)
		if err != nil {
			return n, err
		}
		st := fi.Sys().(*syscall.Stat_t)
		rel, _ := filepath.Rel(root, p)
		r, e := postedRecord(filepath.ToSlash(rel), fi.Size(), fi.ModTime(), st.Ino, uint64(st.Dev), i)
		r.CTime = time.Unix(st.Ctim.Unix()) // the change time is part of the version Known compares
		e = journal.Entry{Time: e.Time, Step: "discovered", Result: "ok", Detail: fmt.Sprintf("%d bytes, settled", r.Size)}
		recs, first = append(recs, r), append(first, e)
		if len(recs) == 10_000 {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := flush(); err != nil {
		return n, err
	}
	return n, trails(j)
}

// trailDetailEvery is how often a file of the scale journal failed once before it was
// archived (one upload answered 503, retried): its audit detail.
const trailDetailEvery = 4

// trails gives every record of the scale journal the rest of the trail the daemon writes for
// an archived file (upload, then event accepted), with a failed upload in one of every
// trailDetailEvery, in transactions of 10,000 records.
func trails(j *journal.DB) error {
	var changes []journal.Change
	var err error
	each := j.Each(func(r *journal.Record) bool {
		fk, rid, i := r.FileKey, r.RequestID, len(changes)
		changes = append(changes, journal.Change{ID: r.ID, Fn: func(*journal.Record) ([]journal.Entry, error) {
			now := time.Now()
			var out []journal.Entry
			if i%trailDetailEvery == 0 {
				out = append(out, journal.Entry{Time: now, Step: "put", Lane: journal.LanePut, Result: "error", Status: 503,
					Detail: "put " + fk + ": 503 Service Unavailable; retry at " + now.UTC().Format(time.RFC3339)})
			}
			return append(out,
				journal.Entry{Time: now, Step: "put", Lane: journal.LanePut, Result: "ok", FileKey: fk, Status: 200},
				journal.Entry{Time: now, Step: "post", Lane: journal.LanePost, Result: "ok", FileKey: fk, Status: 200, RequestID: rid,
					Detail: "File_transfer event accepted in a conversation of 100 events"}), nil
		}})
		return true
	})
	if each != nil {
		return each
	}
	for len(changes) > 0 && err == nil {
		k := min(10_000, len(changes))
		err = j.UpdateEach(changes[:k])
		changes = changes[k:]
	}
	return err
}

// syntheticJournal records n posted files that are not on disk (an old, long archive).
func syntheticJournal(path string, n int) error {
	j, err := journal.Open(path, journal.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer j.Close()
	mtime := time.Now().Add(-24 * time.Hour)
	for start := 0; start < n; start += 10_000 {
		m := min(10_000, n-start)
		recs := make([]*journal.Record, m)
		first := make([]journal.Entry, m)
		for k := range m {
			i := start + k
			recs[k], first[k] = postedRecord(fmt.Sprintf("2023/export-%04d/file-%07d.bin", i/1000, i), 4096,
				mtime.Add(time.Duration(i)*time.Millisecond), uint64(10_000_000+i), 2049, i)
		}
		if _, err := j.Insert(recs, first); err != nil {
			return err
		}
	}
	return nil
}
