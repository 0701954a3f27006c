package archive

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/disposal"
	"github.com/archivist-project/archivist/archive/events"
	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/forward"
	"github.com/archivist-project/archivist/archive/forwarding"
	"github.com/archivist-project/archivist/archive/gate"
	"github.com/archivist-project/archivist/archive/globalrelay"
	"github.com/archivist-project/archivist/archive/identity"
	"github.com/archivist-project/archivist/archive/posting"
	"github.com/archivist-project/archivist/archive/stage"
	"github.com/archivist-project/archivist/archive/upload"
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher"
)

// Archive is what the pipeline needs from the Global Relay client.
type Archive interface {
	PutFile(ctx context.Context, fileKey, contentType string, size int64, open func() (io.ReadCloser, error)) error
	PostConversation(ctx context.Context, conv *globalrelay.Conversation) (*globalrelay.PostResult, error)
}

var _ Archive = (*globalrelay.Client)(nil)

// Watch is what the pipeline needs to know about one watch.
type Watch struct {
	Name         string
	Ignore       []string // name patterns the watcher ignores (reconciliation skips them too)
	Root         string   // absolute path of the watch root
	SenderName   string   // initiator of loose-file events
	SenderEmail  string
	InlineImages bool // images are shown inline in the archive
	// Mode is ModeFiles (every file is a loose file) or ModeTranscripts.
	Mode string
	// AttachmentWait is how long a transcript waits for its attachments before it is held.
	AttachmentWait time.Duration
	// UnreferencedAfter is how long a file of a transcripts watch waits for a transcript to
	// reference it before it is archived as a loose file.
	UnreferencedAfter time.Duration
	// Forward names the destinations (keys of Options.Forwarders) files are forwarded to.
	Forward []string
	// After is what to do with an archived file: AfterKeep (default), AfterMove into DoneDir,
	// or AfterDelete, once Retention has passed.
	After     string
	DoneDir   string
	Retention time.Duration
	// Location is the zone of chat exports' local times (WhatsApp); nil if not configured.
	Location *time.Location
	// DateOrder is "dmy", "mdy" or "ymd" for WhatsApp dates the file leaves ambiguous; "" infers.
	DateOrder string
}

// Options configure a Pipeline. Zero values mean the documented defaults.
type Options struct {
	Watches             []Watch
	Workers             int   // concurrent uploads (PUTs in flight); default 4
	MaxFileSize         int64 // larger files are held, never sent; default 1 GiB
	ConversationType    string
	MaxEventsPerRequest int // default 100
	MaxRequestBytes     int // default 1,000,000
	Backoff             failure.Backoff
	// ShutdownTimeout is how long in-flight requests may finish after Run's context ends;
	// what does not finish stays due in the journal. Default 30s.
	ShutdownTimeout time.Duration
	Logger          logrus.FieldLogger
	// Recheck asks the watcher to observe a path again (it changed while being archived).
	Recheck func(watch, rel string)
	// Forwarders are the forwarding destinations, by name.
	Forwarders map[string]forward.Forwarder
	// Observer receives measurements for metrics; nil means none.
	Observer Observer
	// Identities is the identity directory in force, read for each chat export; nil: none.
	Identities func() *identity.Directory
}

// Observer receives the pipeline's measurements (package metrics implements it).
type Observer interface {
	// Request records one remote request: destination ("globalrelay" or a forward name),
	// operation (put, post, forward) and outcome (ok or the failure class).
	Request(destination, operation, outcome string, d time.Duration)
	// Sent records file bytes a destination accepted.
	Sent(destination string, n int64)
	// Retry records a transient failure that scheduled a retry.
	Retry(destination string)
}

// archiveName is the destination name of Global Relay in metrics and status.
const archiveName = "globalrelay"

// observe reports a finished request to the Observer.
func (p *Pipeline) observe(destination, operation string, start time.Time, err error, bytes int64) {
	if p.o.Observer == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = failure.Classify(err).String()
	}
	p.o.Observer.Request(destination, operation, outcome, p.now().Sub(start))
	if err == nil && bytes > 0 {
		p.o.Observer.Sent(destination, bytes)
	}
	if err != nil && outcome != "permanent" && outcome != "canceled" {
		p.o.Observer.Retry(destination)
	}
}

// Pipeline moves journaled files to the archive. Create it with New, feed it with Intake, run
// it with Run.
type Pipeline struct {
	j     *journal.DB
	gr    Archive
	o     Options
	log   logrus.FieldLogger
	gate  *gate.Gate // Global Relay's health
	jgate *gate.Gate // the journal's health: a failed write pauses new work until a commit succeeds

	mu      sync.Mutex
	watches map[string]Watch

	wakeDispose chan struct{} // the disposal loop: loose-file promotion and the after lane
	now         func() time.Time

	dests map[string]*forwarding.Lane // forwarding destinations by name

	jr       *stage.Journal // the journal as the lanes use it (its gate is jgate)
	ids      identified     // what the watcher found while files settled, until their upload
	uploader *upload.Lane   // the upload lane
	poster   *posting.Lane  // loose-file events and transcripts
	disposer *disposal.Lane // the after lane
}

// New returns a pipeline over journal j that archives through gr.
func New(j *journal.DB, gr Archive, o Options) *Pipeline {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = 1 << 30
	}
	if o.MaxEventsPerRequest <= 0 {
		o.MaxEventsPerRequest = 100
	}
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = 1_000_000
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		o.Logger = l
	}
	if o.Recheck == nil {
		o.Recheck = func(string, string) {}
	}
	p := &Pipeline{
		j: j, gr: gr, o: o, log: o.Logger,
		gate:  gate.New(o.Backoff),
		jgate: gate.New(o.Backoff),
		now:   time.Now,

		wakeDispose: make(chan struct{}, 1),
	}
	p.jr = &stage.Journal{DB: j, Gate: p.jgate, Log: p.log, Now: func() time.Time { return p.now() }}
	p.gate.Notify = func() { p.uploader.Wake(); p.poster.Wake() }
	p.initUpload()
	p.initPosting()
	p.initForwarders()
	p.initDisposal()
	p.jgate.Notify = func() {
		p.gate.Notify()
		p.wakeFollowers()
	}
	p.SetWatches(o.Watches)
	return p
}

// SetWatches replaces the set of watches (on start and on reload).
func (p *Pipeline) SetWatches(ws []Watch) {
	m := make(map[string]Watch, len(ws))
	for _, w := range ws {
		if w.Mode == "" {
			w.Mode = ModeFiles
		}
		if w.AttachmentWait <= 0 {
			w.AttachmentWait = 10 * time.Minute
		}
		if w.UnreferencedAfter <= 0 {
			w.UnreferencedAfter = time.Hour
		}
		m[w.Name] = w
	}
	p.mu.Lock()
	p.watches = m
	p.mu.Unlock()
	p.resumeParked(m)
	p.uploader.Wake()
	p.poster.Wake()
	stage.Wake(p.wakeDispose)
}

// source is what the events of w's files need to know of it.
func (w Watch) source() events.Source {
	return events.Source{Watch: w.Name, SenderName: w.SenderName, SenderEmail: w.SenderEmail, InlineImages: w.InlineImages}
}

// limits bound every request of events.
func (p *Pipeline) limits() events.Limits {
	return events.Limits{ConversationType: p.o.ConversationType, MaxEvents: p.o.MaxEventsPerRequest, MaxBytes: p.o.MaxRequestBytes}
}

func (p *Pipeline) watch(name string) (Watch, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	w, ok := p.watches[name]
	return w, ok
}

// Health is a destination's state for status displays.
type Health = gate.Health

// Health reports Global Relay's state as the pipeline sees it.
func (p *Pipeline) Health() Health { return p.gate.Health(p.now()) }

// JournalHealth reports whether journal writes succeed.
func (p *Pipeline) JournalHealth() Health { return p.jgate.Health(p.now()) }

// ReleaseOnConfigChange puts held files back to work when the configuration differs from the
// one the journal last ran with (fingerprint), since a new token, URL or limit may cure them.
func (p *Pipeline) ReleaseOnConfigChange(fingerprint string) error {
	prev, err := p.j.LookupMeta("config")
	if err != nil { // not a first run: a failed read must not release nothing and record the new fingerprint
		return fmt.Errorf("read the configuration fingerprint: %w", err)
	}
	if prev == fingerprint {
		return nil
	}
	// Only held files are released, so with none held there is nothing to look at: a journal
	// of a million records starts in milliseconds after a config edit.
	counts, err := p.j.Counts()
	if err != nil {
		return err
	}
	if prev != "" && counts[journal.Held] > 0 {
		n, err := p.j.ReleaseHeld("configuration changed since the file was held", p.now(), nil)
		if err != nil {
			return fmt.Errorf("release held files: %w", err)
		}
		if n > 0 {
			p.log.WithField("released", n).Info("configuration changed: held files are tried again")
			p.Wake() // every lane: a released file may be due in any of them
		}
	}
	return p.j.SetMeta("config", fingerprint)
}

// Run uploads and posts due work until ctx ends, then lets in-flight requests finish for up to
// ShutdownTimeout. It returns nil on a clean stop.
func (p *Pipeline) Run(ctx context.Context) error {
	// Requests run on their own context so that a stop lets them finish (bounded) instead of
	// cutting them off mid-body; whatever is cut off stays due in the journal.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stopped := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(p.o.ShutdownTimeout, cancelWork)
		context.AfterFunc(work, func() { t.Stop() })
	})
	defer stopped()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.uploader.Run(ctx, work)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.poster.Run(ctx, work)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.disposeLoop(ctx)
	}()
	for _, d := range p.dests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.Run(ctx, work)
		}()
	}
	wg.Wait()
	return nil
}

// Intake records settled files in the journal. Files that can never be archived (not regular
// files, too large) are recorded as held with the reason, so nothing the watcher saw is lost
// from view. It is the watcher's Settled callback: an error makes the watcher offer the files
// again later.
func (p *Pipeline) Intake(ctx context.Context, files []watcher.File) error {
	now := p.now()
	recs := make([]*journal.Record, 0, len(files))
	first := make([]journal.Entry, 0, len(files))
	for _, f := range files {
		r := &journal.Record{
			Watch: f.Watch, Path: journal.RelPath(f.RelPath), Kind: f.Kind, Size: f.Size,
			ModTime: f.ModTime, CTime: f.ChangeTime, Birth: f.Birth, Inode: f.Inode, Dev: f.Dev, Nlink: f.Nlink,
			State: journal.Discovered, DiscoveredAt: now,
		}
		e := journal.Entry{Time: now, Step: "discovered", Result: "ok",
			Detail: fmt.Sprintf("%s of %d bytes settled", f.Kind, f.Size)}
		if w, ok := p.watch(f.Watch); ok {
			r.Role = roleOf(w, f.RelPath)
		}
		if reason := p.refusal(f, r.Role == journal.RoleExport); reason != "" {
			if err := r.Hold(reason, now); err != nil {
				return fmt.Errorf("intake %s: %w", f.RelPath, err)
			}
			e.Result, e.Detail = "held", reason
		} else if r.Role == journal.RoleExport {
			r.Schedule(journal.LaneConv, now) // a chat export is read in place, never uploaded
		} else {
			r.Schedule(journal.LanePut, now)
		}
		recs = append(recs, r)
		first = append(first, e)
	}
	stored, err := p.j.Insert(recs, first)
	if err := p.jr.Result(err); err != nil {
		return err
	}
	p.keepIdentified(stored, files)
	for _, r := range stored {
		l := p.log.WithFields(logrus.Fields{"id": r.ID, "watch": r.Watch, "path": string(r.Path), "size": r.Size})
		if r.State == journal.Held {
			l.WithField("reason", r.Reason).Warn("file held")
		} else {
			l.Debug("file discovered")
		}
	}
	if len(stored) > 0 {
		p.uploader.Wake()
	}
	if slices.ContainsFunc(stored, func(r *journal.Record) bool { return r.Role == journal.RoleExport }) {
		p.poster.Wake() // a chat export is the poster's from the start (its conv lane)
	}
	return nil
}

// refusal is why a settled entry can never be archived, or "". A chat export is never
// uploaded itself, so the archive's size limit is not its own (the upload lane applies it
// to a candidate that is no export).
func (p *Pipeline) refusal(f watcher.File, export bool) string {
	switch f.Kind {
	case "file":
	case "symlink":
		return "symbolic link: archivist never follows links, so its target is not archived from here"
	case watcher.KindUnreadable:
		return fmt.Sprintf("cannot be examined (%s); it is recorded again once it can be", f.Problem)
	default:
		return fmt.Sprintf("%s: not a regular file, never opened", f.Kind)
	}
	if f.Size > p.o.MaxFileSize && !export {
		return fmt.Sprintf("file is %d bytes, over the archive's limit of %d bytes (1.0 GB); not sent", f.Size, p.o.MaxFileSize)
	}
	return ""
}

// Wake makes the workers look for due work now (after an operator's retry, say).
func (p *Pipeline) Wake() {
	p.uploader.Wake()
	p.poster.Wake()
	p.wakeFollowers()
}
