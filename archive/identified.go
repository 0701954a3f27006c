package archive

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/archivist-project/archivist/archive/ondisk"
	"github.com/archivist-project/archivist/archive/upload"
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
// type, checking before and after the read that it is the version f describes. A small file
// (at most ondisk.SmallMax bytes) is read whole, and its bytes come with it: the upload sends
// them without opening the file again.
func (p *Pipeline) Identify(ctx context.Context, f watcher.File) (watcher.Identity, error) {
	if f.Kind != "file" || f.ChangeTime.IsZero() || p.now().Sub(f.ChangeTime) < watcher.IdentifyMinAge {
		return watcher.Identity{}, errTooFresh
	}
	w, ok := p.watch(f.Watch)
	if !ok {
		return watcher.Identity{}, fmt.Errorf("identify %s: watch %q is not configured", f.RelPath, f.Watch)
	}
	fh, err := beneath.Open(w.Root, f.RelPath)
	if err != nil {
		return watcher.Identity{}, fmt.Errorf("identify %s: %w", f.RelPath, err)
	}
	defer fh.Close()
	found, err := identifyOpen(fh, f)
	if err != nil {
		return watcher.Identity{}, fmt.Errorf("identify %s: %w", f.RelPath, err)
	}
	return found, ctx.Err()
}

// identifyOpen identifies fh, the open file of f, if it is the version f describes before and
// after the read.
func identifyOpen(fh *os.File, f watcher.File) (found watcher.Identity, err error) {
	r := &journal.Record{Kind: f.Kind, Size: f.Size, ModTime: f.ModTime, CTime: f.ChangeTime, Birth: f.Birth, Inode: f.Inode, Dev: f.Dev}
	if err := ondisk.SameVersion(fh, r); err != nil {
		return found, err
	}
	if f.Size <= ondisk.SmallMax {
		found.Data, found.SHA256, found.MIME, err = ondisk.ReadSmall(fh, f.Size)
	} else {
		found.SHA256, found.MIME, err = ondisk.Identify(fh, f.Size)
	}
	if err != nil {
		return watcher.Identity{}, err
	}
	if err := ondisk.SameVersion(fh, r); err != nil {
		return watcher.Identity{}, err
	}
	return found, nil
}

// maxIdentified bounds the identifications kept for records not uploaded yet; past it, a
// record is identified by the upload lane as before.
const maxIdentified = 1 << 16

// HoldBytes bounds the bytes of small files held in memory from their read while they
// settle to their upload (Pipeline.Hold, shared with the watcher): a burst of 4,000 files of
// 4 KiB is sent without opening one of them again. Past it, a file is read by the upload lane
// as before.
const HoldBytes = 16 << 20

// maxKept is how long an identification waits for its upload. One whose record never gets
// there (superseded before it was due) is forgotten once it is older, when room is needed.
const maxKept = 5 * time.Minute

// identified is what the watcher found for records waiting for their upload: memory for
// a backlog, never more than maxIdentified entries, each taken by the upload. The bytes of
// small files it holds are counted in hold, and given back when they are taken or dropped.
type identified struct {
	hold      *watcher.Budget
	mu        sync.Mutex
	m         map[uint64]settledIdentity
	lastSweep time.Time // when entries older than maxKept were last looked for
}

type settledIdentity struct {
	v    journal.Version
	kept time.Time
	watcher.Identity
}

// keep remembers the identification of stored record r from the watcher's f, if it has one
// and r is to be uploaded, and reports whether it did. f's Data, if any, is then held here.
func (c *identified) keep(r *journal.Record, f watcher.File, now time.Time) bool {
	if _, put := r.Lanes[journal.LanePut]; f.SHA256 == "" || r.State != journal.Discovered || !put || !FileVersion(f).Same(r.Version()) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[uint64]settledIdentity{}
	}
	if len(c.m) >= maxIdentified {
		c.sweep(now)
	}
	if _, ok := c.m[r.ID]; ok || len(c.m) >= maxIdentified {
		return false
	}
	c.m[r.ID] = settledIdentity{v: r.Version(), kept: now, Identity: watcher.Identity{SHA256: f.SHA256, MIME: f.MIME, Data: f.Data}}
	return true
}

// sweep forgets the entries kept longer than maxKept, at most once every maxKept/10; c.mu held.
func (c *identified) sweep(now time.Time) {
	if now.Sub(c.lastSweep) < maxKept/10 {
		return
	}
	c.lastSweep = now
	for id, it := range c.m {
		if now.Sub(it.kept) > maxKept {
			c.hold.Give(int64(len(it.Data)))
			delete(c.m, id)
		}
	}
}

// take returns and forgets the identification of record id, if it is of version v. Its bytes
// are given back to the budget: the upload holds them only for its PUT.
func (c *identified) take(id uint64, v journal.Version) (watcher.Identity, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.m[id]
	if !ok {
		return watcher.Identity{}, false
	}
	delete(c.m, id)
	c.hold.Give(int64(len(it.Data)))
	if !it.v.Same(v) {
		return watcher.Identity{}, false
	}
	return it.Identity, true
}

// keepIdentified keeps the identifications the watcher made of the files of stored records,
// and gives back the bytes of the files of the batch whose identification is not kept.
func (p *Pipeline) keepIdentified(stored []*journal.Record, files []watcher.File) {
	byPath := make(map[string]int, len(files))
	for i, f := range files {
		if f.SHA256 != "" {
			byPath[f.Watch+"\x00"+f.RelPath] = i
		}
	}
	kept := make([]bool, len(files))
	now := p.now()
	for _, r := range stored {
		if i, ok := byPath[r.Watch+"\x00"+string(r.Path)]; ok {
			kept[i] = p.ids.keep(r, files[i], now)
		}
	}
	for i, f := range files {
		if !kept[i] {
			p.hold.Give(int64(len(f.Data)))
		}
	}
}

// Hold is the budget of the bytes of small files held from their read while they settle
// to their upload (watcher.Options.Hold).
func (p *Pipeline) Hold() *watcher.Budget { return p.hold }

// takeIdentified is the upload lane's Identified: it takes what the watcher found for record
// id, if it is of version v.
func (p *Pipeline) takeIdentified(id uint64, v journal.Version) (upload.Identity, bool) {
	found, ok := p.ids.take(id, v)
	return upload.Identity(found), ok
}
