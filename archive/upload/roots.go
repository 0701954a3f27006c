package upload

import (
	"errors"
	"os"
	"sync"

	"github.com/archivist-project/archivist/watcher/beneath"
)

// roots keeps the root folder of a watch open while uploads from it are in flight, so that a
// burst does not open and close the root for every file. A root is closed as soon as no
// upload from it is in flight: nothing holds a deleted root alive for longer than its
// uploads take (a watch root that is replaced meanwhile changes nothing that matters: every
// file opened is checked against its record's device and inode before it is read).
type roots struct {
	mu   sync.Mutex
	held map[string]*heldRoot
}

type heldRoot struct {
	root  *beneath.Root
	users int
}

// open opens rel beneath the root folder path; release must be called once the file is no
// longer being uploaded. Its error is that of closing the root, if it was the last user.
func (rs *roots) open(path, rel string) (f *os.File, release func() error, err error) {
	h, err := rs.acquire(path)
	if err != nil {
		return nil, nil, err
	}
	release = func() error { return rs.release(path, h) }
	if f, err = h.root.Open(rel); err != nil {
		if cerr := release(); cerr != nil {
			return nil, nil, errors.Join(err, cerr)
		}
		return nil, nil, err
	}
	return f, release, nil
}

func (rs *roots) acquire(path string) (*heldRoot, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	h := rs.held[path]
	if h == nil {
		r, err := beneath.OpenRoot(path)
		if err != nil {
			return nil, err
		}
		if rs.held == nil {
			rs.held = map[string]*heldRoot{}
		}
		h = &heldRoot{root: r}
		rs.held[path] = h
	}
	h.users++
	return h, nil
}

func (rs *roots) release(path string, h *heldRoot) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if h.users--; h.users > 0 {
		return nil
	}
	if rs.held[path] == h {
		delete(rs.held, path)
	}
	return h.root.Close()
}
