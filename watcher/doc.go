// Package watcher finds complete files under the configured watch roots and
// hands them to the journal.
//
// It owns:
//   - discovery: an fsnotify watch on every directory below each root (added
//     as directories appear, each new directory scanned right after its watch
//     exists), a full scan at start, periodic scans, and an immediate rescan
//     when the kernel's event queue overflowed;
//   - settle detection (invariant 6): a regular file is reported only after
//     its size, mtime, change time and inode stayed unchanged for Root.Settle,
//     measured from the last observed change or first sighting, whatever the
//     mtime claims; one timer goroutine serves every pending file;
//   - containment (invariant 5): entries are only ever Lstat'ed or listed,
//     through package beneath, never opened and never followed. A symlink,
//     FIFO, socket or device is reported once as what it is so the journal
//     can hold it with a reason;
//   - robustness: the inotify watch limit (fall back to periodic scanning),
//     a directory inotify refuses (too deep for it, permission: scanned on
//     its own), paths of any depth (resolved a piece at a time), entries that
//     cannot be stat'ed (reported once as unreadable), roots that disappear
//     and come back, directories that are replaced, moved in or out, or
//     unreadable.
//
// It does not own:
//   - reading contents, hashing, or the re-check around the upload: that is
//     package archive, which opens files with beneath.Open and calls
//     Watcher.Recheck when a file changed under it;
//   - remembering what was archived: Options.Known asks the journal, and
//     Options.Settled records there. The watcher keeps only files that are
//     still settling, so it has no state to lose on a restart: the start-up
//     scan plus Known recovers everything.
package watcher
