// Package reconcile proves that what is on disk reached the archive: it walks every watch
// (lstat only, no reading), compares each entry with the journal's record of its current
// version, and requeues every file the journal does not account for. It is a function over
// the journal and the watches: the daemon runs it on schedule and on request, and
// `archivist reconcile` runs it without a daemon (counting only).
package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/ondisk"
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher/beneath"
)

// Summary is the outcome of one reconciliation.
type Summary struct {
	Time     time.Time     `json:"time"`
	Duration time.Duration `json:"duration"`
	OnDisk   int           `json:"onDisk"`   // entries found under the watches (ignored names excluded)
	Archived int           `json:"archived"` // their current version is posted
	Held     int           `json:"held"`     // held records, on disk or not (journal's Held: archivist queue --state held)
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
	// Dismissed entries are held files an operator gave up on (archivist dismiss): accounted
	// for, never archived.
	Dismissed int `json:"dismissed,omitempty"`
}

// VerifyAll, as Options.Verify, re-hashes every archived file.
const VerifyAll = -1

// maxExamples bounds the unexplained entries a summary names.
const maxExamples = 20

// Options say what to reconcile and how.
type Options struct {
	Journal    *journal.DB
	Watches    []Watch
	StaleAfter time.Duration // work in progress for longer is counted stale
	// Requeue hands unexplained files to Recheck (the watcher), which settles and records
	// them; without it (no daemon running) they are only counted.
	Requeue bool
	Recheck func(watch, rel string)
	// Verify archived files (chosen at random; VerifyAll: every one) are read again and
	// their SHA-256 compared with the archived one, to catch what metadata cannot.
	Verify int
	Log    logrus.FieldLogger // nil: no log
	Now    func() time.Time   // nil: time.Now
	// Wrote is told the outcome of every journal write (the daemon pauses its work while
	// they fail); nil: nobody.
	Wrote func(error) error
	// Unreadable is called, with Requeue, for a record that cannot be read: it reports
	// whether it took the record out of the work (quarantined it), so that its file is
	// recorded again. nil: nothing is done about it.
	Unreadable func(id uint64, err error) bool
}

// Watch is what reconciliation needs to know of one watch.
type Watch struct {
	Name   string
	Root   string   // absolute path of the watch root
	Ignore []string // name patterns the watcher ignores, skipped here too
}

// Run compares every watch with the journal (see the package comment). The summary is stored
// in the journal (Last) and logged.
func Run(ctx context.Context, o Options) (*Summary, error) {
	o.defaults()
	start := o.Now()
	s := &Summary{Time: start}
	v := &verifier{o: &o, s: s, limit: o.Verify}
	for _, w := range o.Watches {
		if err := reconcileWatch(ctx, &o, w, s, v); err != nil {
			return nil, err
		}
	}
	if err := v.finish(ctx); err != nil {
		return nil, err
	}
	counts, err := o.Journal.Counts()
	if err != nil {
		return nil, fmt.Errorf("reconcile: count vanished records: %w", err)
	}
	s.Vanished = int(counts[journal.Vanished])
	// The journal's one count of held files: one no longer on disk still waits for an operator.
	held, err := o.Journal.Held()
	if err != nil {
		return nil, fmt.Errorf("reconcile: count held records: %w", err)
	}
	s.Held = int(held)
	s.Duration = o.Now().Sub(start)
	b, err := json.Marshal(s)
	if err != nil {
		return s, fmt.Errorf("record reconciliation: %w", err)
	}
	if err := o.Wrote(o.Journal.SetMeta(metaLastReconcile, string(b))); err != nil {
		return s, fmt.Errorf("record reconciliation: %w", err)
	}
	s.log(o.Log)
	return s, nil
}

func (o *Options) defaults() {
	if o.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		o.Log = l
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Wrote == nil {
		o.Wrote = func(err error) error { return err }
	}
	if o.Recheck == nil || !o.Requeue {
		o.Recheck = func(string, string) {}
	}
	if o.Unreadable == nil {
		o.Unreadable = func(uint64, error) bool { return false }
	}
}

// log reports the summary: a warning if anything is unexplained.
func (s *Summary) log(log logrus.FieldLogger) {
	l := log.WithFields(logrus.Fields{"on_disk": s.OnDisk, "archived": s.Archived, "held": s.Held, "pending": s.Pending,
		"failed": s.Failed, "stale": s.Stale, "vanished": s.Vanished, "unexplained": s.Unexplained, "duration": s.Duration.Round(time.Millisecond),
		"verified": s.Verified, "mismatched": s.Mismatched})
	if s.Unexplained > 0 {
		l.WithField("examples", s.Examples).Warn("RECONCILIATION: files on disk were neither archived nor queued; they are requeued now")
	} else {
		l.Info("reconciliation: every file on disk is accounted for")
	}
}

const metaLastReconcile = "reconcile/last"

// Last returns the summary of the most recent reconciliation; nil, nil if none was recorded,
// and an error if the stored summary cannot be decoded (it is not taken for "never run").
func Last(j *journal.DB) (*Summary, error) {
	v, err := j.LookupMeta(metaLastReconcile)
	if err != nil {
		return nil, fmt.Errorf("last reconciliation: %w", err)
	}
	if v == "" {
		return nil, nil
	}
	var s Summary
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return nil, fmt.Errorf("last reconciliation: stored summary is corrupt (the next reconciliation replaces it): %w", err)
	}
	return &s, nil
}

func reconcileWatch(ctx context.Context, o *Options, w Watch, s *Summary, v *verifier) error {
	root, err := beneath.OpenRoot(w.Root)
	if err != nil {
		s.Errors = append(s.Errors, fmt.Sprintf("%s: %v", w.Name, err))
		return nil
	}
	defer root.Close()
	now := o.Now()
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
			if err := reconcileEntry(ctx, o, w, rel, fi, s, now, v); err != nil {
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

func reconcileEntry(ctx context.Context, o *Options, w Watch, rel string, fi fs.FileInfo, s *Summary, now time.Time, v *verifier) error {
	s.OnDisk++
	ver := ondisk.VersionOf(fi)
	kind := ver.Kind
	fp, ok, err := o.Journal.Current(w.Name, rel)
	if err != nil {
		return fmt.Errorf("reconcile %s/%s: %w", w.Name, rel, err)
	}
	if ok && fp.Is(ver) {
		r, err := o.Journal.Get(fp.ID)
		if err != nil && o.Requeue {
			o.Unreadable(fp.ID, err) // gives up its path, so the recheck below records the file again
		}
		if err == nil {
			switch r.State {
			case journal.Posted:
				s.Archived++
				return v.offer(ctx, w, rel, r)
			case journal.Held: // counted with the journal's Held, on disk or not
				return nil
			case journal.Dismissed:
				s.Dismissed++
				return nil
			case journal.Discovered, journal.Uploaded:
				s.Pending++
				if r.Attempts > 0 {
					s.Failed++
				}
				if now.Sub(r.DiscoveredAt) > o.StaleAfter {
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
	o.Recheck(w.Name, rel)
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
