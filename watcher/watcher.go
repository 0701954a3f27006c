package watcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/archivist-project/archivist/watcher/beneath"
)

// Root is one watched directory tree.
type Root struct {
	Name string // watch name, unique
	Path string // absolute, clean

	// Settle is the quiet period: a regular file is complete once its size,
	// mtime, change time and inode have not changed for Settle. Must be positive.
	Settle time.Duration

	// ScanInterval is the period of full scans that catch anything fsnotify
	// missed. Zero means no periodic scan (there is always one at start, one
	// after an event queue overflow, and, if the inotify watch limit is hit,
	// a periodic one every 30s anyway; a directory that cannot be watched for
	// another reason, such as a path too long for inotify, is scanned on its
	// own every 30s).
	ScanInterval time.Duration

	// Ignore holds path.Match patterns matched against the base name of every
	// entry below the root, files and directories alike: an ignored directory
	// is not descended. See DefaultIgnore.
	Ignore []string
}

// DefaultIgnore matches the temporary names that copy tools, browsers and
// editors write before the final name appears.
var DefaultIgnore = []string{".*", "*.part", "*.partial", "*.tmp", "*.temp", "*.crdownload", "*.download", "~$*", "*.swp", "*~"}

// File is one directory entry as of the moment it settled. Regular files are
// reported after settling; anything else but directories (symlink, FIFO,
// socket, device) is reported once, immediately, and never opened. An entry
// that is listed but cannot be examined is reported once as KindUnreadable,
// with Problem saying why.
type File struct {
	Watch   string
	RelPath string // slash-separated, relative to Root.Path, raw bytes of the name
	Kind    string // beneath.Kind value: "file", "symlink", "named pipe (FIFO)", ..., or KindUnreadable
	Problem string // KindUnreadable only: the error that kept the entry from being examined
	Size    int64
	ModTime time.Time
	Inode   uint64
	Dev     uint64
	Nlink   uint64
	// ChangeTime (ctime) and Birth are what a writer cannot set back: a rewrite that
	// keeps size and mtime, or a replacement on a reused inode, changes them. Zero when
	// unknown (Birth: the file system or kernel does not report it).
	ChangeTime time.Time
	Birth      time.Time
	// SHA256 (hex) and MIME are set when Options.Identify identified exactly this version
	// while it settled; empty otherwise.
	SHA256, MIME string
}

// Options connect the watcher to the journal.
type Options struct {
	// Logger receives operational messages; nil discards them.
	Logger logrus.FieldLogger

	// Known reports whether the journal already holds this exact version
	// (watch, relpath, kind, size, mtime, change and birth time, inode, device).
	// Known entries are skipped without waiting for them to settle. It is
	// called from the watcher's goroutines, possibly concurrently, and must be
	// fast. nil: nothing is known.
	Known func(File) bool

	// Settled receives files that became complete, in batches of at most
	// 1000. When it returns an error, the batch stays pending and is offered
	// again after a backoff (1s doubling up to 30s); nothing is dropped.
	// Required.
	Settled func(ctx context.Context, files []File) error

	// Identify, if set, reads a regular file of 64 KiB or more while it settles and returns
	// its SHA-256 (hex) and MIME type; it must fail unless the file is the version f describes before and
	// after the read. Its result reaches Settled in File.SHA256 and File.MIME if the file
	// did not change since. Called from a few watcher goroutines at once.
	Identify func(ctx context.Context, f File) (sha256, mime string, err error)

	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Stats is a snapshot for status output and metrics.
type Stats struct {
	Pending     int // files waiting to settle or to be accepted by Settled
	WatchedDirs int
	Roots       []RootStats
}

// RootStats describes one watch.
type RootStats struct {
	Watch            string
	WatchedDirs      int
	Scans            uint64 // full scans completed
	LastScan         time.Time
	LastScanDuration time.Duration
	Polling          bool // not every directory could be watched: relies on periodic scans
	Missing          bool // the root does not exist; polled until it does
}

const (
	maxBatch             = 1000
	identifyWorkers      = 2 // files identified at once while they settle
	eventBuffer          = 4096
	fallbackScanInterval = 30 * time.Second
	rootPollInterval     = 2 * time.Second
	retryMin             = time.Second
	retryMax             = 30 * time.Second
)

var errNoInotify = errors.New("inotify unavailable")

// KindUnreadable is File.Kind of an entry whose directory lists it but which
// cannot be stat'ed (for example a folder readable but not searchable).
const KindUnreadable = "unreadable"

// Watcher watches a set of roots. Create it with New and start it with Run.
type Watcher struct {
	roots   []*root
	byName  map[string]*root
	log     logrus.FieldLogger
	known   func(File) bool
	settled func(context.Context, []File) error
	now     func() time.Time
	// identify is Options.Identify; identifyJobs feeds its workers.
	identify     func(context.Context, File) (string, string, error)
	identifyJobs chan identifyJob
	identifyMin  int64 // smaller files are not identified while they settle; tests lower it

	// Tunables; tests shorten them.
	fallbackInterval time.Duration
	pollInterval     time.Duration
	retryMin         time.Duration
	retryMax         time.Duration
	// addWatch replaces fsnotify's Add in tests (to simulate the inotify
	// watch limit or missed events).
	addWatch func(path string) error
	// statFault, if set, fails the stat of an entry below a root (tests:
	// permission errors cannot be staged when the tests run as root).
	statFault func(rel string) error

	running atomic.Bool
	fw      *fsnotify.Watcher // nil when inotify is unavailable; set before Run's goroutines start

	settleWake chan struct{}
	scanWake   chan struct{}

	mu         sync.Mutex
	pending    map[key]*entry
	queue      dueQueue
	failStreak int
}

// root is a Root plus its runtime state; fields below the line are guarded
// by Watcher.mu unless noted.
type root struct {
	Root
	prefix string // Path + "/"

	watched       map[string]uint64 // watched directory (rel, "" = root) -> its inode
	denied        map[string]bool   // directories already logged as unreadable
	unwatched     map[string]bool   // directories inotify refused (not the limit): scanned on their own
	nextDirScan   time.Time         // when the unwatched directories are scanned next
	rootIno       uint64
	missing       bool
	nextPoll      time.Time
	polling       bool // some directory could not be watched
	limitLogged   bool
	scanRequested bool
	lastScanEnd   time.Time
	scans         uint64
	lastScan      time.Time
	lastScanDur   time.Duration
}

// New checks the roots and prepares a watcher; nothing is touched on disk
// until Run.
func New(roots []Root, o Options) (*Watcher, error) {
	if len(roots) == 0 {
		return nil, errors.New("watcher: no roots")
	}
	if o.Settled == nil {
		return nil, errors.New("watcher: Options.Settled is required")
	}
	w := &Watcher{
		byName:           make(map[string]*root, len(roots)),
		log:              o.Logger,
		known:            o.Known,
		settled:          o.Settled,
		now:              o.Now,
		identify:         o.Identify,
		identifyJobs:     make(chan identifyJob, identifyQueue),
		identifyMin:      identifyMinSize,
		fallbackInterval: fallbackScanInterval,
		pollInterval:     rootPollInterval,
		retryMin:         retryMin,
		retryMax:         retryMax,
		settleWake:       make(chan struct{}, 1),
		scanWake:         make(chan struct{}, 1),
		pending:          make(map[key]*entry),
	}
	if w.log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		w.log = l
	}
	if w.known == nil {
		w.known = func(File) bool { return false }
	}
	if w.now == nil {
		w.now = time.Now
	}
	for _, rt := range roots {
		if err := w.addRoot(rt); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// addRoot checks rt against itself and the roots added so far, then adds it with its
// start-up scan requested.
func (w *Watcher) addRoot(rt Root) error {
	if err := validateRoot(rt); err != nil {
		return err
	}
	if _, dup := w.byName[rt.Name]; dup {
		return fmt.Errorf("watcher: watch %q: name used twice", rt.Name)
	}
	for _, other := range w.roots {
		if within(rt.Path, other.Path) || within(other.Path, rt.Path) {
			return fmt.Errorf("watcher: watch %q: path overlaps watch %q", rt.Name, other.Name)
		}
	}
	r := &root{
		Root:          rt,
		prefix:        strings.TrimSuffix(rt.Path, "/") + "/",
		watched:       make(map[string]uint64),
		denied:        make(map[string]bool),
		unwatched:     make(map[string]bool),
		scanRequested: true, // the start-up scan
	}
	r.Ignore = append([]string(nil), rt.Ignore...)
	w.roots = append(w.roots, r)
	w.byName[rt.Name] = r
	return nil
}

func validateRoot(rt Root) error {
	switch {
	case rt.Name == "":
		return errors.New("watcher: watch with empty name")
	case !filepath.IsAbs(rt.Path) || filepath.Clean(rt.Path) != rt.Path:
		return fmt.Errorf("watcher: watch %q: path %q is not absolute and clean", rt.Name, rt.Path)
	case rt.Settle <= 0:
		return fmt.Errorf("watcher: watch %q: settle must be positive", rt.Name)
	case rt.ScanInterval < 0:
		return fmt.Errorf("watcher: watch %q: scan interval must not be negative", rt.Name)
	}
	for _, p := range rt.Ignore {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("watcher: watch %q: ignore pattern %q: %w", rt.Name, p, err)
		}
	}
	return nil
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// Run watches until ctx is done and then returns nil. It can be called once.
func (w *Watcher) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("watcher: Run called twice")
	}
	fw, err := fsnotify.NewBufferedWatcher(eventBuffer)
	if err != nil {
		// Most likely fs.inotify.max_user_instances; scanning still works.
		w.log.WithError(err).Warn("cannot start inotify; every watch falls back to periodic scanning")
		fw = nil
	}
	w.fw = fw

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { w.settleLoop(ctx) })
	wg.Go(func() { w.scanLoop(ctx) })
	if w.identify != nil {
		for range identifyWorkers {
			wg.Go(func() { w.identifyLoop(ctx) })
		}
	}
	if fw != nil {
		w.eventLoop(ctx, fw)
	}
	<-ctx.Done()
	wg.Wait()
	if fw != nil {
		fw.Close()
	}
	return nil
}

// Recheck makes the watcher observe one path again from scratch: it becomes
// pending, must settle again, and is reported even if Known says the journal
// holds that version (the caller saw its content change under it).
func (w *Watcher) Recheck(watch, relPath string) {
	r := w.byName[watch]
	if r == nil {
		w.log.WithFields(logrus.Fields{"watch": watch, "path": relPath}).Warn("recheck of unknown watch")
		return
	}
	clean := path.Clean(relPath)
	if clean == "." || clean == ".." || strings.HasPrefix(clean, "../") || path.IsAbs(clean) {
		w.log.WithFields(logrus.Fields{"watch": watch, "path": relPath}).Warn("recheck of a path that is not below the root")
		return
	}
	relPath = clean
	fi, err := w.lstat(r, relPath)
	if err != nil {
		w.forget(r, relPath)
		if !gone(err) {
			w.unreadable(r, relPath)
			return
		}
		w.log.WithFields(logrus.Fields{"watch": watch, "path": relPath}).WithError(err).Debug("recheck: entry is gone")
		return
	}
	if fi.IsDir() {
		return
	}
	w.observe(r, relPath, fi, true)
}

// Rescan asks for a full scan of one watch ("" = all) soon. It is safe to
// call from any goroutine, before or during Run.
func (w *Watcher) Rescan(watch string) {
	w.mu.Lock()
	found := false
	for _, r := range w.roots {
		if watch == "" || r.Name == watch {
			r.scanRequested = true
			found = true
		}
	}
	w.mu.Unlock()
	if !found {
		w.log.WithField("watch", watch).Warn("rescan of unknown watch")
		return
	}
	poke(w.scanWake)
}

// Stats returns a snapshot.
func (w *Watcher) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := Stats{Pending: len(w.pending), Roots: make([]RootStats, 0, len(w.roots))}
	for _, r := range w.roots {
		s.WatchedDirs += len(r.watched)
		s.Roots = append(s.Roots, RootStats{
			Watch:            r.Name,
			WatchedDirs:      len(r.watched),
			Scans:            r.scans,
			LastScan:         r.lastScan,
			LastScanDuration: r.lastScanDur,
			Polling:          r.polling || len(r.unwatched) > 0,
			Missing:          r.missing,
		})
	}
	return s
}

func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// eventLoop turns fsnotify events into observations until ctx is done.
func (w *Watcher) eventLoop(ctx context.Context, fw *fsnotify.Watcher) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-fw.Events:
			if !ok {
				w.lostInotify()
				return
			}
			w.handleEvent(ctx, ev)
		case err, ok := <-fw.Errors:
			if !ok {
				w.lostInotify()
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.log.Warn("inotify event queue overflowed; rescanning every watch")
			} else {
				w.log.WithError(err).Warn("inotify error; rescanning every watch")
			}
			w.Rescan("")
		}
	}
}

func (w *Watcher) lostInotify() {
	w.log.Error("inotify stopped delivering events; every watch falls back to periodic scanning")
	w.mu.Lock()
	for _, r := range w.roots {
		r.polling = true
	}
	w.mu.Unlock()
	poke(w.scanWake)
}

func (w *Watcher) handleEvent(ctx context.Context, ev fsnotify.Event) {
	r, rel, ok := w.route(ev.Name)
	if !ok {
		return
	}
	if rel == "" {
		if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
			w.checkRoot(r)
		}
		return
	}
	if w.isMissing(r) || r.ignoredPath(rel) {
		return
	}
	fi, err := w.lstat(r, rel)
	if err != nil {
		// Gone, or now reachable only through a symlink: either way nothing
		// to watch or report under this name any more. Anything else is
		// reported as unreadable, once.
		w.forget(r, rel)
		w.unwatchTree(r, rel)
		if !gone(err) {
			w.unreadable(r, rel)
		}
		return
	}
	if fi.IsDir() {
		w.forget(r, rel) // a pending file of that name was replaced
		if ev.Has(fsnotify.Create) || !w.isWatched(r, rel, inode(fi)) {
			w.walk(ctx, r, rel, nil)
		}
		return
	}
	w.unwatchTree(r, rel) // a directory of that name was replaced
	w.observe(r, rel, fi, false)
}

// route finds the root an event path belongs to and the path relative to it.
func (w *Watcher) route(name string) (*root, string, bool) {
	for _, r := range w.roots {
		if name == r.Path {
			return r, "", true
		}
		if strings.HasPrefix(name, r.prefix) {
			return r, name[len(r.prefix):], true
		}
	}
	return nil, "", false
}

func (r *root) ignored(name string) bool {
	for _, p := range r.Ignore {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// ignoredPath applies the ignore patterns to every component of rel.
func (r *root) ignoredPath(rel string) bool {
	for name := range strings.SplitSeq(rel, "/") {
		if r.ignored(name) {
			return true
		}
	}
	return false
}

func (r *root) abs(rel string) string {
	if rel == "" {
		return r.Path
	}
	return r.prefix + rel
}

// lstat describes rel strictly beneath the root. The root is opened per
// call rather than held open: an open descriptor would keep a deleted root
// alive and delay the very inotify event that tells us it is gone.
func (r *root) lstat(rel string) (fs.FileInfo, error) {
	return beneath.Lstat(r.Path, rel)
}

// lstat is r.lstat behind the test hook statFault.
func (w *Watcher) lstat(r *root, rel string) (fs.FileInfo, error) {
	if w.statFault != nil {
		if err := w.statFault(rel); err != nil {
			return nil, &fs.PathError{Op: "lstat", Path: rel, Err: err}
		}
	}
	return r.lstat(rel)
}

// lstatBatch looks at every entry of batch again, behind the test hook statFault, opening
// each root and folder once for the whole batch (beneath.Lstats) and closing them after.
func (w *Watcher) lstatBatch(batch []flight) {
	roots := map[*root]*beneath.Lstats{}
	defer func() {
		for r, l := range roots {
			if err := l.Close(); err != nil {
				w.log.WithError(err).WithField("watch", r.Name).Debug("close the root after a settle batch")
			}
		}
	}()
	for i := range batch {
		f := &batch[i]
		if w.statFault != nil {
			if err := w.statFault(f.rel); err != nil {
				f.err = &fs.PathError{Op: "lstat", Path: f.rel, Err: err}
				continue
			}
		}
		l := roots[f.r]
		if l == nil {
			l = beneath.NewLstats(f.r.Path)
			roots[f.r] = l
		}
		f.fi, f.err = l.Lstat(f.rel)
	}
}

// gone reports errors that mean "no such entry here any more".
func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) ||
		errors.Is(err, beneath.ErrSymlink) || errors.Is(err, beneath.ErrNotDir)
}

func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*unix.Stat_t); ok {
		return st.Ino
	}
	return 0
}
