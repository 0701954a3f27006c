package archive

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/ondisk"
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher/beneath"
)

// Reconciliation proves that what is on disk reached the archive: it walks every watch (lstat
// only, no reading), compares each entry with the journal's record of its current version, and
// requeues every file the journal does not account for.

// Summary is the outcome of one reconciliation.
type Summary struct {
	Time     time.Time     `json:"time"`
	Duration time.Duration `json:"duration"`
	OnDisk   int           `json:"onDisk"`   // entries found under the watches (ignored names excluded)
	Archived int           `json:"archived"` // their current version is posted
	Held     int           `json:"held"`     // held with a reason (see archivist queue --state held)
	Pending  int           `json:"pending"`  // recorded and in progress
	Failed   int           `json:"failed"`   // in progress after failed attempts
	Stale    int           `json:"stale"`    // in progress for longer than the stale threshold
	Vanished int           `json:"vanished"` // records whose file was deleted before it was archived (all time)
	// Unexplained entries are on disk but not accounted for by the journal: never recorded,
	// or recorded only in an older version. They are requeued; a non-zero count means
	// something was missed (lost events, a watch that could not be watched) and is logged as
	// a warning.
	Unexplained int      `json:"unexplained"`
	Examples    []string `json:"examples,omitempty"` // up to 20 unexplained entries, watch:path
	Errors      []string `json:"errors,omitempty"`   // folders that could not be read
	// Verified archived files were read again and hash to the archived SHA-256; Mismatched
	// ones did not (their metadata matched, their bytes did not): they are unexplained too,
	// and requeued as new versions.
	Verified   int `json:"verified,omitempty"`
	Mismatched int `json:"mismatched,omitempty"`
}

// VerifyAll, as Reconcile's verify, re-hashes every archived file.
const VerifyAll = -1

// maxExamples bounds the unexplained entries a summary names.
const maxExamples = 20

// Reconcile compares every watch with the journal. With requeue, unexplained files are handed
// to the watcher (Recheck) to settle and be recorded; due work is woken. verify archived files
// (chosen at random; VerifyAll: every one) are read again and their SHA-256 compared with the
// archived one, to catch what metadata cannot. The summary is stored in the journal
// (LastReconciliation) and logged.
func (p *Pipeline) Reconcile(ctx context.Context, staleAfter time.Duration, requeue bool, verify int) (*Summary, error) {
	start := p.now()
	s := &Summary{Time: start}
	p.mu.Lock()
	watches := make([]Watch, 0, len(p.watches))
	for _, w := range p.watches {
		watches = append(watches, w)
	}
	p.mu.Unlock()
	v := &verifier{p: p, s: s, limit: verify, requeue: requeue}
	for _, w := range watches {
		if err := p.reconcileWatch(ctx, w, s, staleAfter, v); err != nil {
			return nil, err
		}
	}
	if err := v.finish(ctx); err != nil {
		return nil, err
	}
	counts, err := p.j.Counts()
	if err != nil {
		return nil, fmt.Errorf("reconcile: count vanished records: %w", err)
	}
	s.Vanished = int(counts[journal.Vanished])
	s.Duration = p.now().Sub(start)
	b, err := json.Marshal(s)
	if err != nil {
		return s, fmt.Errorf("record reconciliation: %w", err)
	}
	if err := p.journalResult(p.j.SetMeta(metaLastReconcile, string(b))); err != nil {
		return s, fmt.Errorf("record reconciliation: %w", err)
	}
	if requeue {
		wake(p.wakeUpload)
		wake(p.wakePost)
		wake(p.wakeDispose)
	}
	l := p.log.WithFields(logrus.Fields{"on_disk": s.OnDisk, "archived": s.Archived, "held": s.Held, "pending": s.Pending,
		"failed": s.Failed, "stale": s.Stale, "vanished": s.Vanished, "unexplained": s.Unexplained, "duration": s.Duration.Round(time.Millisecond),
		"verified": s.Verified, "mismatched": s.Mismatched})
	if s.Unexplained > 0 {
		l.WithField("examples", s.Examples).Warn("RECONCILIATION: files on disk were neither archived nor queued; they are requeued now")
	} else {
		l.Info("reconciliation: every file on disk is accounted for")
	}
	return s, nil
}

const metaLastReconcile = "reconcile/last"

// LastReconciliation returns the summary of the most recent reconciliation; nil, nil if none
// was recorded, and an error if the stored summary cannot be decoded (it is not taken for
// "never run").
func LastReconciliation(j *journal.DB) (*Summary, error) {
	v := j.Meta(metaLastReconcile)
	if v == "" {
		return nil, nil
	}
	var s Summary
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return nil, fmt.Errorf("last reconciliation: stored summary is corrupt (the next reconciliation replaces it): %w", err)
	}
	return &s, nil
}

func (p *Pipeline) reconcileWatch(ctx context.Context, w Watch, s *Summary, staleAfter time.Duration, v *verifier) error {
	root, err := beneath.OpenRoot(w.Root)
	if err != nil {
		s.Errors = append(s.Errors, fmt.Sprintf("%s: %v", w.Name, err))
		return nil
	}
	defer root.Close()
	now := p.now()
	var walk func(dir string) error
	walk = func(dir string) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d, err := root.OpenDir(dir)
		if err != nil {
			s.Errors = append(s.Errors, fmt.Sprintf("%s:%s: %v", w.Name, dir, err))
			return nil
		}
		names, err := d.Names()
		if err != nil {
			d.Close()
			s.Errors = append(s.Errors, fmt.Sprintf("%s:%s: %v", w.Name, dir, err))
			return nil
		}
		var subdirs []string
		for _, name := range names {
			if ignored(name, w.Ignore) {
				continue
			}
			fi, err := d.Lstat(name)
			if err != nil {
				continue // gone meanwhile
			}
			rel := name
			if dir != "." {
				rel = dir + "/" + name
			}
			if fi.IsDir() {
				subdirs = append(subdirs, rel)
				continue
			}
			if err := p.reconcileEntry(ctx, w, rel, fi, s, now, staleAfter, v); err != nil {
				d.Close()
				return err
			}
		}
		d.Close()
		for _, sub := range subdirs {
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(".")
}

func (p *Pipeline) reconcileEntry(ctx context.Context, w Watch, rel string, fi fs.FileInfo, s *Summary, now time.Time, staleAfter time.Duration, v *verifier) error {
	s.OnDisk++
	ver := ondisk.VersionOf(fi)
	kind := ver.Kind
	if fp, ok := p.j.Current(w.Name, rel); ok && fp.Is(ver) {
		r, err := p.j.Get(fp.ID)
		if err != nil && v.requeue {
			p.unreadable(fp.ID, err) // gives up its path, so the recheck below records the file again
		}
		if err == nil {
			switch r.State {
			case journal.Posted:
				s.Archived++
				return v.offer(ctx, w, rel, r)
			case journal.Held:
				s.Held++
				return nil
			case journal.Discovered, journal.Uploaded:
				s.Pending++
				if r.Attempts > 0 {
					s.Failed++
				}
				if now.Sub(r.DiscoveredAt) > staleAfter {
					s.Stale++
				}
				return nil
			}
		}
	}
	// A file still settling (written in the last moments) is not yet expected in the journal.
	// The change time too must be recent: an mtime set into the future hides nothing.
	if now.Sub(ver.ModTime) < 2*time.Minute && now.Sub(ver.Change) < 2*time.Minute && kind == "file" {
		s.Pending++
		return nil
	}
	s.unexplained(w.Name + ":" + rel)
	if v.requeue {
		p.o.Recheck(w.Name, rel)
	}
	return nil
}

func (s *Summary) unexplained(what string) {
	s.Unexplained++
	if len(s.Examples) < maxExamples {
		s.Examples = append(s.Examples, what)
	}
}

// ignored reports whether a path element matches one of the watch's ignore patterns.
func ignored(name string, patterns []string) bool {
	for _, pat := range patterns {
		if ok, _ := path.Match(pat, name); ok {
			return true
		}
	}
	return false
}
