package archive

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/archivist-project/archivist/archive/ondisk"
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher"
	"github.com/archivist-project/archivist/watcher/beneath"
)

// Identification while settling: the watcher reads a file while it settles (Identify), the
// intake keeps what it found for the records it stores (identified), and the upload lane
// takes it instead of reading the file again, once the file is shown to be the same version.

// errTooFresh means a file changed too recently to be identified yet.
var errTooFresh = errors.New("changed too recently to be identified")

// Identify reads the file of f (watcher.Options.Identify) and returns its SHA-256 and MIME
// type, checking before and after the read that it is the version f describes.
func (p *Pipeline) Identify(ctx context.Context, f watcher.File) (sum, mime string, err error) {
	if f.Kind != "file" || f.ChangeTime.IsZero() || p.now().Sub(f.ChangeTime) < watcher.IdentifyMinAge {
		return "", "", errTooFresh
	}
	w, ok := p.watch(f.Watch)
	if !ok {
		return "", "", fmt.Errorf("identify %s: watch %q is not configured", f.RelPath, f.Watch)
	}
	fh, err := beneath.Open(w.Root, f.RelPath)
	if err != nil {
		return "", "", fmt.Errorf("identify %s: %w", f.RelPath, err)
	}
	defer fh.Close()
	r := &journal.Record{Kind: f.Kind, Size: f.Size, ModTime: f.ModTime, CTime: f.ChangeTime, Birth: f.Birth, Inode: f.Inode, Dev: f.Dev}
	if err := ondisk.SameVersion(fh, r); err != nil {
		return "", "", fmt.Errorf("identify %s: %w", f.RelPath, err)
	}
	if sum, mime, err = ondisk.Identify(fh, f.Size); err != nil {
		return "", "", fmt.Errorf("identify %s: %w", f.RelPath, err)
	}
	if err := ondisk.SameVersion(fh, r); err != nil {
		return "", "", fmt.Errorf("identify %s: %w", f.RelPath, err)
	}
	return sum, mime, ctx.Err()
}

// maxIdentified bounds the identifications kept for records not uploaded yet; past it, a
// record is identified by the upload lane as before.
const maxIdentified = 1 << 16

// identified is what the watcher found for records waiting for their upload: memory for
// a backlog, never more than maxIdentified entries, each taken by the upload.
type identified struct {
	mu sync.Mutex
	m  map[uint64]settledIdentity
}

type settledIdentity struct {
	v         journal.Version
	sum, mime string
}

// keep remembers the identification of stored record r from the watcher's f, if it has one.
func (c *identified) keep(r *journal.Record, f watcher.File) {
	if f.SHA256 == "" || r.State != journal.Discovered || !FileVersion(f).Same(r.Version()) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[uint64]settledIdentity{}
	}
	if len(c.m) < maxIdentified {
		c.m[r.ID] = settledIdentity{v: r.Version(), sum: f.SHA256, mime: f.MIME}
	}
}

// take returns and forgets the identification of record id, if it is of version v.
func (c *identified) take(id uint64, v journal.Version) (sum, mime string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.m[id]
	delete(c.m, id)
	if !ok || !it.v.Same(v) {
		return "", "", false
	}
	return it.sum, it.mime, true
}

// keepIdentified keeps the identifications the watcher made of the files of stored records.
func (p *Pipeline) keepIdentified(stored []*journal.Record, files []watcher.File) {
	byPath := make(map[string]int, len(files))
	for i, f := range files {
		if f.SHA256 != "" {
			byPath[f.Watch+"\x00"+f.RelPath] = i
		}
	}
	if len(byPath) == 0 {
		return
	}
	for _, r := range stored {
		if i, ok := byPath[r.Watch+"\x00"+string(r.Path)]; ok {
			p.ids.keep(r, files[i])
		}
	}
}
