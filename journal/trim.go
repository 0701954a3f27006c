package journal

// The journal is read through bbolt's memory map, and every page a read touches stays in the
// daemon's resident set until the kernel needs the memory back: clean, file-backed and
// reclaimable, but counted in RSS and its high-water mark. A daemon that has archived a
// million files reads about a gigabyte of journal pages in a full rescan (the path index)
// or a report (every record), and its RSS followed. trimmer drops the map's pages from the
// resident set every trimEvery read transactions and every trimRecords records walked:
// the pages stay in the page cache, so the next read of one costs a minor fault, not I/O.

import (
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

const (
	trimEvery   = 4096 // read transactions between two trims
	trimRecords = 8192 // records walked by Each between two trims
	trimWrites  = 64   // write transactions between two trims
)

type trimmer struct {
	views   atomic.Uint64
	updates atomic.Uint64
	trims   atomic.Uint64 // how many trims ran, for tests
}

// beforeUpdate counts a write transaction and trims every trimWrites of them. A write reads
// the pages on its path through the map as a read does: a burst of files, committed in few
// large transactions with few reads in between, left them resident. tx is open and fn has
// not run, so the map cannot move while it trims.
func (t *trimmer) beforeUpdate(tx *bolt.Tx) {
	if t.updates.Add(1)%trimWrites == 0 {
		t.trim(tx)
	}
}

// afterView counts a read transaction and trims every trimEvery of them; tx is still open,
// which holds bbolt's map in place (a remap waits for every read transaction).
func (t *trimmer) afterView(tx *bolt.Tx) {
	if t.views.Add(1)%trimEvery == 0 {
		t.trim(tx)
	}
}

// trim tells the kernel the map's pages are not needed now (MADV_DONTNEED). On a shared,
// read-only file mapping that only drops them from this process's page tables. It runs inside
// read transaction tx, so the map cannot move while it does.
func (t *trimmer) trim(tx *bolt.Tx) {
	info := tx.DB().Info()
	size := uintptr(tx.Size()) &^ uintptr(info.PageSize-1)
	if info.Data == 0 || size == 0 {
		return
	}
	// A failure (EINVAL on an odd kernel) only leaves the pages resident, as before.
	if _, _, errno := unix.Syscall(unix.SYS_MADVISE, info.Data, size, unix.MADV_DONTNEED); errno == 0 {
		t.trims.Add(1)
	}
}
