package archive

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher"
	"github.com/archivist-project/archivist/watcher/beneath"
)

// A file version's identity (journal.Version) includes what a writer cannot set back: the
// change time and the birth time, besides size, mtime, inode and device. Every check that
// a file on disk is still the version that settled, or the version that was archived,
// compares all of it.

// FileVersion is the version of a file the watcher reported, as the journal compares it.
func FileVersion(f watcher.File) journal.Version {
	return journal.Version{Kind: f.Kind, Size: f.Size, ModTime: f.ModTime, Change: f.ChangeTime, Birth: f.Birth, Inode: f.Inode, Dev: f.Dev}
}

// versionOf is the version a stat result describes.
func versionOf(fi fs.FileInfo) journal.Version {
	v := journal.Version{Kind: beneath.Kind(fi), Size: fi.Size(), ModTime: fi.ModTime(), Change: beneath.ChangeTime(fi), Birth: beneath.BirthTime(fi)}
	switch st := fi.Sys().(type) {
	case *unix.Stat_t:
		v.Inode, v.Dev = st.Ino, st.Dev
	case *syscall.Stat_t:
		v.Inode, v.Dev = st.Ino, uint64(st.Dev)
	}
	return v
}

// sameVersion checks that the open file is still the version r recorded.
func sameVersion(f *os.File, r *journal.Record) error {
	fi, err := beneath.Fstat(f)
	if err != nil {
		return err
	}
	return changedFrom(versionOf(fi), r)
}

// changedFrom says how got differs from the version r recorded (wrapping errChanged), or
// returns nil if it is that version.
func changedFrom(got journal.Version, r *journal.Record) error {
	want := r.Version()
	if got.Same(want) {
		return nil
	}
	switch {
	case got.Inode != want.Inode || got.Dev != want.Dev:
		return fmt.Errorf("%w: replaced by another file (inode %d, was %d)", errChanged, got.Inode, want.Inode)
	case got.Kind != want.Kind:
		return fmt.Errorf("%w: replaced by a %s", errChanged, got.Kind)
	case got.Size != want.Size:
		return fmt.Errorf("%w: size is %d bytes, was %d when it settled", errChanged, got.Size, want.Size)
	case !got.ModTime.Equal(want.ModTime):
		return fmt.Errorf("%w: modified at %s after it settled", errChanged, stamp(got.ModTime))
	case want.Change.IsZero():
		return fmt.Errorf("%w: recorded without a change time (by an earlier archivist), so it is identified again", errChanged)
	case !got.Change.Equal(want.Change):
		return fmt.Errorf("%w: changed at %s after it settled, with its size and mtime kept (change time, was %s)",
			errChanged, stamp(got.Change), stamp(want.Change))
	default:
		return fmt.Errorf("%w: replaced by another file on the same inode (born %s, was %s)", errChanged, stamp(got.Birth), stamp(want.Birth))
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
