package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"

	"github.com/archivist-project/archivist/archive/ondisk"
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher/beneath"
)

// Verification: reconciliation compares metadata, which catches every change a writer makes
// through the file system; a verifying one also reads archived files again and compares their
// SHA-256 with the archived one, for what leaves no trace in the metadata (a clock set back,
// a damaged disk, a tool writing to the block device). A file whose bytes differ is
// unexplained: its record gives up its path, and the file is requeued as a new version.

// verifier re-hashes the archived files reconciliation offers: all of them (VerifyAll), as
// they are found, or a uniform random sample of limit of them (reservoir sampling), once the
// walk is done.
type verifier struct {
	o      *Options
	s      *Summary
	limit  int
	seen   int
	sample []verifyItem
}

type verifyItem struct {
	w   Watch
	rel string
	r   *journal.Record
}

func (v *verifier) offer(ctx context.Context, w Watch, rel string, r *journal.Record) error {
	switch {
	case v.limit == VerifyAll:
		return verifyFile(ctx, v.o, v.s, w, rel, r)
	case v.limit <= 0 || r.Kind != "file":
		return nil
	}
	v.seen++
	it := verifyItem{w: w, rel: rel, r: r}
	if len(v.sample) < v.limit {
		v.sample = append(v.sample, it)
	} else if j := rand.IntN(v.seen); j < v.limit {
		v.sample[j] = it
	}
	return nil
}

// finish verifies the sample.
func (v *verifier) finish(ctx context.Context) error {
	for _, it := range v.sample {
		if err := verifyFile(ctx, v.o, v.s, it.w, it.rel, it.r); err != nil {
			return err
		}
	}
	return nil
}

// verifyFile reads rel again and compares its SHA-256 with what record r archived. Only a
// file still of r's version counts: one that changed meanwhile is the watcher's.
func verifyFile(ctx context.Context, o *Options, s *Summary, w Watch, rel string, r *journal.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.Kind != "file" || r.SHA256 == "" {
		return nil
	}
	f, err := beneath.Open(w.Root, rel)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.Errors = append(s.Errors, fmt.Sprintf("%s:%s: verify: %v", w.Name, rel, err))
		}
		return nil
	}
	defer f.Close()
	sum, _, err := ondisk.Identify(f, r.Size)
	if err == nil {
		err = ondisk.SameVersion(f, r)
	}
	switch {
	case errors.Is(err, ondisk.ErrChanged):
		return nil
	case err != nil:
		s.Errors = append(s.Errors, fmt.Sprintf("%s:%s: verify: %v", w.Name, rel, err))
		return nil
	case sum == r.SHA256:
		s.Verified++
		return nil
	}
	s.Mismatched++
	s.Archived--
	s.unexplained(w.Name + ":" + rel)
	o.Log.WithField("id", r.ID).WithField("watch", w.Name).WithField("path", rel).
		Warnf("RECONCILIATION: the file's bytes (sha256 %s) are not the archived ones (sha256 %s) although its metadata is; it is archived again as a new version", sum, r.SHA256)
	if err := o.Wrote(o.Journal.Disown(r.ID)); err != nil {
		s.Errors = append(s.Errors, fmt.Sprintf("%s:%s: record the new version: %v", w.Name, rel, err))
		return nil
	}
	o.Recheck(w.Name, rel)
	return nil
}
