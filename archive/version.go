package archive

import (
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher"
)

// FileVersion is the version of a file the watcher reported, as the journal compares it.
func FileVersion(f watcher.File) journal.Version {
	return journal.Version{Kind: f.Kind, Size: f.Size, ModTime: f.ModTime, Change: f.ChangeTime, Birth: f.Birth, Inode: f.Inode, Dev: f.Dev}
}
