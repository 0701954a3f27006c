package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/archivist-project/archivist/archive"
	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/forward"
	"github.com/archivist-project/archivist/archive/genesys"
	"github.com/archivist-project/archivist/archive/identity"
	"github.com/archivist-project/archivist/archive/metrics"
	"github.com/archivist-project/archivist/archive/redact"
	"github.com/archivist-project/archivist/archive/salesforce"
	"github.com/archivist-project/archivist/archive/talkdesk"
	"github.com/archivist-project/archivist/cmd/archivist/control"
	"github.com/archivist-project/archivist/cmd/archivist/logjson"
	"github.com/archivist-project/archivist/cmd/archivist/statuspage"
	"github.com/archivist-project/archivist/config"
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/systemd"
	"github.com/archivist-project/archivist/systemd/journald"
	"github.com/archivist-project/archivist/watcher"
)

func runCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "run [--once [--timeout DURATION]] [--new-journal]",
		Short: "watch the configured folders and archive every complete file",
		Args:  noArgs,
	}
	cfgPath := configFlag(c.Flags())
	once := c.Flags().Bool("once", false, "archive what is there and exit when idle (cron-style jobs, first back-fills)")
	newJournal := c.Flags().Bool("new-journal", false, "start a new journal where the marker next to it names one that is missing, empty or another (every file is archived again)")
	timeout := c.Flags().Duration("timeout", 0, "with --once: give up after this `long` (exit 4), work not done stays due (default: no limit)")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		o, err := newOnceRun(*once, cmd.Flags().Changed("timeout"), *timeout)
		if err != nil {
			return err
		}
		if err := runDaemon(cmd.Context(), *cfgPath, o, *newJournal); err != nil {
			return err
		}
		return o.exit()
	}
	return c
}

func runDaemon(ctx context.Context, cfgPath string, once *onceRun, newJournal bool) error {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return configError{err}
	}
	log, err := newLogger(cfg.Log, os.Stderr)
	if err != nil {
		return configError{err}
	}
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	tuneGC(os.Getenv)
	return run(ctx, cfgPath, cfg, log, once, newJournal)
}

// run is the daemon: journal, Global Relay client, pipeline and watcher, until ctx ends (or,
// with once, until there is nothing left to do). Every goroutine it starts has ended before
// the journal closes.
func run(ctx context.Context, cfgPath string, cfg *config.Config, log *logrus.Logger, once *onceRun, newJournal bool) error {
	// SIGHUP is caught from the start: its default action ends the process, and a reload
	// (systemctl reload right after the start, say) may come before the reload watch runs.
	// One that comes early waits in the channel and is applied once the watch starts.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	dir, err := loadIdentities(cfg)
	if err != nil {
		return configError{fmt.Errorf("config %s: %w", cfgPath, err)}
	}
	j, err := journal.Open(cfg.Journal, journal.Options{NewJournal: newJournal})
	if err != nil {
		return err
	}
	defer j.Close()
	defer beforeJournalClose()
	ids := &identities{j: j, log: log}
	ids.Set(dir)
	var bg sync.WaitGroup
	defer bg.Wait()
	ctx, stop := context.WithCancel(ctx)
	defer stop() // before bg.Wait: ends the damage watchers too
	ctx = stopOnDamage(ctx, &bg, j, log)
	d := &wiring{cfgPath: cfgPath, cfg: cfg, log: log, j: j, stop: stop, bg: &bg, watch: &watchRunner{}, ids: ids, hup: hup}
	return d.run(ctx, once)
}

// beforeJournalClose is called after every goroutine of run has ended, just before the journal
// closes (a test looks for goroutines left then).
var beforeJournalClose = func() {}

// wiring is what run wires together; bg holds every goroutine it starts.
type wiring struct {
	cfgPath string
	cfg     *config.Config
	log     *logrus.Logger
	j       *journal.DB
	stop    func()
	bg      *sync.WaitGroup
	watch   *watchRunner
	p       *archive.Pipeline
	m       *metrics.Metrics
	ids     *identities // the identity directory in force (ids.Current)
	hup     <-chan os.Signal
}

func (d *wiring) run(ctx context.Context, once *onceRun) error {
	if d.cfg.GlobalRelay.InsecureSkipVerify {
		d.log.Warn("TLS certificate verification is OFF (globalrelay.insecure_skip_verify): use only for testing")
	}
	if err := d.newPipeline(); err != nil {
		return err
	}
	// The control socket is bound before any work starts: without it no operator could look.
	ctl, err := control.Listen(controlSocket(d.cfg))
	if err != nil {
		return err
	}
	defer ctl.Close()
	if err := d.p.ReleaseOnConfigChange(configFingerprint(d.cfg)); err != nil {
		return err
	}
	watchOpts := d.watchOptions()
	if err := d.watch.start(ctx, watcherRoots(d.cfg), watchOpts); err != nil {
		return err
	}
	d.log.WithFields(logrus.Fields{"version": Version, "journal": d.cfg.Journal, "watches": len(d.cfg.Watches),
		"archive": d.cfg.GlobalRelay.URL}).Info("archivist started")
	svc := d.service()
	servers, err := d.serve(ctx, ctl, svc)
	if err != nil {
		return err
	}
	stopJobs, err := d.schedule(ctx)
	if err != nil {
		return err
	}
	defer stopJobs()
	sd := d.notifySystemd(ctx, watchOpts, svc, once)

	perr := d.p.Run(ctx)
	told(d.log, "STOPPING=1", sd.Stopping())
	werr := d.watch.stop()
	serr := servers()
	if err := d.j.Err(); err != nil {
		return err
	}
	if err := errors.Join(perr, werr, serr); err != nil {
		return err
	}
	d.log.Info("archivist stopped")
	return nil
}

// watchOptions connects the watcher to the journal (what it knows) and the pipeline (intake).
func (d *wiring) watchOptions() watcher.Options {
	return watcher.Options{
		Logger: d.log,
		// A version the journal cannot say it knows is taken for new: the intake then records
		// it, or fails and logs why. Never the other way round, which would skip a file.
		Known: func(f watcher.File) bool {
			known, err := d.j.Known(f.Watch, f.RelPath, archive.FileVersion(f))
			if err != nil {
				d.log.WithError(err).WithField("path", f.RelPath).Error("ask the journal whether a file is archived")
			}
			return known
		},
		Settled:  d.p.Intake,
		Identify: d.p.Identify,
	}
}

// serve starts the status page, the control socket and the metrics endpoint; the function
// it returns waits, once ctx ends, until they have stopped, with their errors.
func (d *wiring) serve(ctx context.Context, ctl *control.Socket, svc *control.Service) (wait func() error, err error) {
	pageDone, err := startStatusPage(ctx, d.cfg, svc, d.j, d.log)
	if err != nil {
		return nil, err
	}
	controlDone := make(chan error, 1)
	d.bg.Go(func() { controlDone <- ctl.Serve(ctx, svc, d.m.Handler()) })
	if d.cfg.Metrics.Listen != "" {
		d.bg.Go(func() { serveMetrics(ctx, d.cfg.Metrics.Listen, d.m, d.log) })
	}
	return func() error { return errors.Join(<-controlDone, <-pageDone) }, nil
}

// schedule starts the scheduled jobs (reconciliation, the daily report, audit retention) and
// the notification lane; the function it returns stops them and waits for them.
func (d *wiring) schedule(ctx context.Context) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	stopCron, err := scheduleReconcile(ctx, d.cfg, d.p, d.log)
	if err != nil {
		return nil, err
	}
	stops = append(stops, stopCron)
	stopDaily, err := scheduleDaily(ctx, d.cfg, d.p, d.j, d.log)
	if err != nil {
		stop()
		return nil, err
	}
	stops = append(stops, stopDaily,
		scheduleAuditRetention(ctx, d.cfg, retentionSchedule, d.j, d.log),
		startNotify(ctx, d.cfg, d.p, d.j, d.log)) // stops the lane and waits for it
	return stop, nil
}

// newPipeline builds the clients, the metrics and the pipeline.
func (d *wiring) newPipeline() error {
	client, err := newGlobalRelay(d.cfg)
	if err != nil {
		return err
	}
	forwarders, err := newForwarders(d.cfg)
	if err != nil {
		return err
	}
	j := d.j
	d.m = metrics.New(metrics.Sources{
		Journal:   j,
		Up:        func() map[string]bool { return upMap(d.p.DestinationHealth()) },
		JournalUp: func() bool { return d.p.JournalHealth().Up },
		LastReconciliation: func() (metrics.Reconciliation, bool) {
			s, err := archive.LastReconciliation(j)
			if err != nil {
				d.log.WithError(err).Warn("reconciliation metrics left out")
			}
			if s == nil {
				return metrics.Reconciliation{}, false
			}
			return metrics.Reconciliation{Time: s.Time, OnDisk: s.OnDisk, Archived: s.Archived, Held: s.Held, Pending: s.Pending,
				Stale: s.Stale, Unexplained: s.Unexplained, Vanished: s.Vanished}, true
		},
	})
	gr := d.cfg.GlobalRelay
	d.p = archive.New(j, client, archive.Options{
		Forwarders:          forwarders,
		Watches:             pipelineWatches(d.cfg),
		Workers:             d.cfg.Workers,
		MaxFileSize:         gr.MaxFileSize,
		ConversationType:    gr.ConversationType,
		MaxEventsPerRequest: gr.MaxEventsPerRequest,
		MaxRequestBytes:     gr.MaxRequestBytes,
		Backoff:             failure.Backoff{Min: d.cfg.Retry.MinDelay.Std(), Max: d.cfg.Retry.MaxDelay.Std()},
		ShutdownTimeout:     d.cfg.ShutdownTimeout.Std(),
		Logger:              d.log,
		Recheck:             d.watch.Recheck,
		Observer:            d.m,
		Identities:          d.ids.Current,
	})
	return nil
}

// service is what the control socket and the status page answer from.
func (d *wiring) service() *control.Service {
	svc := &control.Service{J: d.j, P: d.p, Version: Version, Started: time.Now(), StaleAfter: d.cfg.Reconcile.StaleAfter.Std(),
		Extra: func(st *control.Status) {
			for name, h := range d.p.DestinationHealth() {
				st.Destinations[name] = h
			}
			st.Settling = d.watch.Stats().Pending
		}}
	svc.SetWatches(watchInfos(d.cfg))
	return svc
}

// told logs a notification systemd did not get (it would see a start or reload time out).
func told(log logrus.FieldLogger, msg string, err error) {
	if err != nil {
		log.WithError(err).Warnf("tell systemd %s", msg)
	}
}

// notifySystemd says ready once the journal is open and the watches are set up (not after
// the first scan, which may take long), keeps a status line with the queue and watchdog
// pings while the journal answers, and starts the reload (and, with once, the idle) watch.
func (d *wiring) notifySystemd(ctx context.Context, watchOpts watcher.Options, svc *control.Service, once *onceRun) *systemd.Notifier {
	sd := systemd.NewNotifier()
	told(d.log, "READY=1", sd.Ready())
	d.bg.Go(func() { sd.RunWatchdog(ctx, func() bool { _, err := d.j.Counts(); return err == nil }) })
	d.bg.Go(func() { reportStatus(ctx, sd, d.j, d.p, d.log) })
	d.bg.Go(func() { reloadOnHangup(ctx, d.hup, d.cfgPath, d.cfg, d.log, sd, d.p, d.watch, watchOpts, svc, d.ids) })
	if once != nil {
		d.bg.Go(func() { once.run(ctx, d.stop, d.j, d.watch, d.log) })
	}
	return sd
}

func upMap(h map[string]archive.Health) map[string]bool {
	out := make(map[string]bool, len(h))
	for name, v := range h {
		out[name] = v.Up
	}
	return out
}

// startStatusPage binds the status page (status_page.listen) and serves it until ctx ends;
// the channel yields its end. Off, the channel yields nil at once.
func startStatusPage(ctx context.Context, cfg *config.Config, svc *control.Service, j *journal.DB, log *logrus.Logger) (<-chan error, error) {
	done := make(chan error, 1)
	if cfg.StatusPage.Listen == "" {
		done <- nil
		return done, nil
	}
	page, err := statuspage.Listen(cfg.StatusPage, statuspage.Options{Source: svc, Records: j, ReportsDir: cfg.DailyReport.Folder})
	if err != nil {
		return nil, err
	}
	log.WithField("url", page.URL()).Info("status page")
	go func() { done <- page.Serve(ctx) }()
	return done, nil
}

// serveMetrics serves /metrics on a TCP address (loopback, normally) until ctx ends.
func serveMetrics(ctx context.Context, addr string, m *metrics.Metrics, log *logrus.Logger) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := control.ServeUntil(ctx, srv, srv.ListenAndServe); err != nil {
		log.WithError(err).Error("metrics endpoint")
	}
}

// watchRunner runs the watcher and replaces it when a reload changes the watches.
type watchRunner struct {
	mu     sync.Mutex
	w      *watcher.Watcher
	cancel context.CancelFunc
	done   chan error
}

func (r *watchRunner) start(ctx context.Context, roots []watcher.Root, o watcher.Options) error {
	w, err := watcher.New(roots, o)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	r.mu.Lock()
	r.w, r.cancel, r.done = w, cancel, done
	r.mu.Unlock()
	return nil
}

// stop ends the current watcher and returns its error.
func (r *watchRunner) stop() error {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	return <-done
}

func (r *watchRunner) Recheck(watch, rel string) {
	r.mu.Lock()
	w := r.w
	r.mu.Unlock()
	if w != nil {
		w.Recheck(watch, rel)
	}
}

func (r *watchRunner) Stats() watcher.Stats {
	r.mu.Lock()
	w := r.w
	r.mu.Unlock()
	if w == nil {
		return watcher.Stats{}
	}
	return w.Stats()
}

// reloadOnHangup reloads the configuration on SIGHUP. Watches (added, removed, changed) and
// the log level apply at once; a change elsewhere is logged as needing a restart. A config
// that does not load (or whose identity directory does not) is rejected and the running one kept.
func reloadOnHangup(ctx context.Context, hup <-chan os.Signal, cfgPath string, cur *config.Config, log *logrus.Logger, sd *systemd.Notifier,
	p *archive.Pipeline, watch *watchRunner, o watcher.Options, svc *control.Service, ids *identities) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		told(log, "RELOADING=1", sd.Reloading())
		next, dir, err := loadForReload(cfgPath)
		if err != nil {
			log.WithError(err).Error("reload rejected; the running configuration is kept")
			told(log, "READY=1", sd.Ready())
			continue
		}
		for _, w := range next.Warnings {
			log.Warn(w)
		}
		for key, changed := range map[string]bool{
			"journal":      next.Journal != cur.Journal,
			"workers":      next.Workers != cur.Workers,
			"globalrelay":  fmt.Sprint(next.GlobalRelay) != fmt.Sprint(cur.GlobalRelay),
			"destinations": fmt.Sprint(next.Destinations) != fmt.Sprint(cur.Destinations),
			"control":      next.Control != cur.Control,
			"metrics":      next.Metrics != cur.Metrics,
			"reconcile":    next.Reconcile != cur.Reconcile,
		} {
			if changed {
				log.WithField("key", key).Warn("reload: this part of the configuration changed; restart archivist to apply it")
			}
		}
		if level, err := logrus.ParseLevel(next.Log.Level); err == nil {
			log.SetLevel(level)
		}
		p.SetWatches(pipelineWatches(next))
		if err := watch.stop(); err != nil {
			log.WithError(err).Error("reload: stop the watcher")
		}
		if err := watch.start(ctx, watcherRoots(next), o); err != nil {
			log.WithError(err).Error("reload: the new watches could not start; keeping the old ones")
			p.SetWatches(pipelineWatches(cur))
			if err := watch.start(ctx, watcherRoots(cur), o); err != nil {
				log.WithError(err).Error("reload: restart the old watches")
			}
			told(log, "READY=1", sd.Ready())
			continue
		}
		svc.SetWatches(watchInfos(next))
		if err := p.ReleaseOnConfigChange(configFingerprint(next)); err != nil {
			log.WithError(err).Error("reload: release held files")
		}
		ids.Set(dir)
		cur = next
		log.WithFields(logrus.Fields{"watches": len(next.Watches), "identities": dir.Len()}).Info("configuration reloaded")
		told(log, "READY=1", sd.Ready())
	}
}

// loadForReload loads the configuration at cfgPath and the identity directory it names.
func loadForReload(cfgPath string) (*config.Config, *identity.Directory, error) {
	next, err := config.Load(cfgPath)
	if err != nil {
		return nil, nil, err
	}
	dir, err := loadIdentities(next)
	if err != nil {
		return nil, nil, err
	}
	return next, dir, nil
}

// run ends the daemon (stop) once every watch was scanned, nothing waits to settle and no
// archive or forward work is pending, or when the timeout passed first; on a terminal it shows
// progress meanwhile. Files of a transcripts watch that wait to be referenced (the loose lane)
// do not keep it running: they are handled by a later run.
func (o *onceRun) run(ctx context.Context, stop func(), j *journal.DB, watch *watchRunner, log *logrus.Logger) {
	tty := isTerminal(os.Stderr)
	start, _ := j.Counts()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	deadline := o.deadline()
	for {
		select {
		case <-ctx.Done():
			return
		case <-deadline:
			o.timedOut(j, log)
			stop()
			return
		case <-t.C:
		}
		ws := watch.Stats()
		scanned := len(ws.Roots) > 0
		for _, r := range ws.Roots {
			scanned = scanned && r.Scans > 0
		}
		lanes, err := j.LaneCounts()
		if err != nil {
			continue
		}
		pending := ws.Pending
		for lane, n := range lanes {
			if lane != journal.LaneLoose {
				pending += n
			}
		}
		counts, _ := j.Counts()
		done := counts[journal.Posted] - start[journal.Posted]
		held := counts[journal.Held] - start[journal.Held]
		if tty {
			fmt.Fprintf(os.Stderr, "\r%s archived %d, held %d, pending %d   ", bar(done, int64(pending)), done, held, pending)
		}
		if scanned && pending == 0 {
			if tty {
				fmt.Fprintln(os.Stderr)
			}
			o.finished(j, log, done, held)
			stop()
			return
		}
	}
}

// bar draws done out of done+pending in 30 cells.
func bar(done, pending int64) string {
	total := done + pending
	filled := 30
	if total > 0 {
		filled = int(30 * done / total)
	}
	return "[" + strings.Repeat("=", filled) + strings.Repeat(" ", 30-filled) + "]"
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// reportStatus keeps systemd's STATUS= line current with the queue figures.
func reportStatus(ctx context.Context, sd *systemd.Notifier, j *journal.DB, p *archive.Pipeline, log logrus.FieldLogger) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		if counts, err := j.Counts(); err == nil {
			h := p.Health()
			state := "archive up"
			if !h.Up {
				state = fmt.Sprintf("archive paused (%d failures): %s", h.Failures, h.LastError)
			}
			told(log, "STATUS=", sd.Status(fmt.Sprintf("%d pending, %d held, %d archived; %s",
				counts[journal.Discovered]+counts[journal.Uploaded], counts[journal.Held], counts[journal.Posted], state)))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// newLogger builds the logger: text on a terminal, the journal's native protocol when out is
// the stream systemd connected to the journal, JSON otherwise, unless the config says.
func newLogger(c config.Log, out *os.File) (*logrus.Logger, error) {
	log := logrus.New()
	log.SetOutput(out)
	log.AddHook(redact.Hook{}) // no secret in any form reaches a log line
	level, err := logrus.ParseLevel(c.Level)
	if err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	log.SetLevel(level)
	format := c.Format
	if format == "" || format == "auto" {
		if journald.IsStream(out) {
			log.SetFormatter(&journald.Formatter{Identifier: "archivist"})
			log.SetOutput(journald.NewWriter(out))
			return log, nil
		}
		format = "json"
		if isTerminal(out) {
			format = "text"
		}
	}
	if format == "json" {
		log.SetFormatter(logjson.New(time.RFC3339Nano))
	} else {
		log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: time.RFC3339})
	}
	return log, nil
}

// configFingerprint identifies the configuration a run used: the file's bytes and the secrets
// it names (a new credential can cure a 403). A change releases held files once.
func configFingerprint(cfg *config.Config) string {
	h := sha256.New()
	if b, err := os.ReadFile(cfg.File); err == nil {
		h.Write(b)
	}
	h.Write([]byte{0})
	h.Write([]byte(cfg.GlobalRelay.Credentials.Reveal()))
	return hex.EncodeToString(h.Sum(nil))
}

// pipelineWatches is what the pipeline needs of each configured watch.
func pipelineWatches(cfg *config.Config) []archive.Watch {
	out := make([]archive.Watch, 0, len(cfg.Watches))
	for _, cw := range cfg.Watches {
		out = append(out, archive.Watch{
			Name: cw.Name, Root: cw.Path, Ignore: cw.Ignore, SenderName: cw.Sender.Name, SenderEmail: cw.Sender.Email,
			InlineImages: cw.InlineImages, Mode: cw.Mode, Forward: cw.Forward,
			AttachmentWait: cw.AttachmentWait.Std(), UnreferencedAfter: cw.UnreferencedAfter.Std(),
			After: cw.After, DoneDir: cw.DoneDir, Retention: cw.Retention.Std(),
			Location: cw.Location, DateOrder: cw.DateOrder,
		})
	}
	return out
}

// watcherRoots is what the watcher needs of each configured watch.
func watcherRoots(cfg *config.Config) []watcher.Root {
	out := make([]watcher.Root, 0, len(cfg.Watches))
	for _, cw := range cfg.Watches {
		out = append(out, watcher.Root{
			Name: cw.Name, Path: cw.Path, Settle: cw.Settle.Std(), ScanInterval: cw.ScanInterval.Std(), Ignore: cw.Ignore,
		})
	}
	return out
}

// scheduleReconcile runs a reconciliation on reconcile.schedule (in reconcile.timezone).
func scheduleReconcile(ctx context.Context, cfg *config.Config, p *archive.Pipeline, log *logrus.Logger) (stop func(), err error) {
	if cfg.Reconcile.Schedule == "off" {
		return func() {}, nil
	}
	loc := time.Local
	if cfg.Reconcile.Timezone != "" {
		if loc, err = time.LoadLocation(cfg.Reconcile.Timezone); err != nil {
			return nil, fmt.Errorf("reconcile.timezone: %w", err)
		}
	}
	c := cron.New(cron.WithLocation(loc))
	if _, err := c.AddFunc(cfg.Reconcile.Schedule, func() {
		if _, err := p.Reconcile(ctx, cfg.Reconcile.StaleAfter.Std(), true, cfg.Reconcile.VerifyFiles); err != nil && ctx.Err() == nil {
			log.WithError(err).Error("scheduled reconciliation failed")
		}
	}); err != nil {
		return nil, fmt.Errorf("reconcile.schedule: %w", err)
	}
	c.Start()
	return func() { <-c.Stop().Done() }, nil
}

// newForwarders builds a client for every configured destination.
func newForwarders(cfg *config.Config) (map[string]forward.Forwarder, error) {
	out := map[string]forward.Forwarder{}
	for name, d := range cfg.Destinations {
		var fw forward.Forwarder
		var err error
		switch d.Type {
		case config.DestinationSalesforce:
			fw, err = salesforce.New(salesforce.Options{Name: name, URL: d.URL, TokenURL: d.TokenURL, ClientID: d.ClientID,
				Username: d.Username, PrivateKey: d.PrivateKey, Audience: d.Audience, OrgID: d.OrgID,
				AuthorizationContext: d.AuthorizationContext, ChannelAddress: d.ChannelAddress, EndUser: d.EndUser,
				DeliveryFailed: d.DeliveryFailed})
		case config.DestinationGenesys:
			fw, err = genesys.New(genesys.Options{Name: name, URL: d.URL, Username: d.Username, Password: d.Password.Reveal(), ChatID: d.ChatID})
		case config.DestinationTalkdesk:
			fw, err = talkdesk.New(talkdesk.Options{Name: name, URL: d.URL, TokenURL: d.TokenURL, ClientID: d.ClientID,
				ClientSecret: d.ClientSecret.Reveal()})
		default:
			err = fmt.Errorf("unknown type %q", d.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("destinations.%s: %w", name, err)
		}
		out[name] = fw
	}
	return out, nil
}
