package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/archivist-project/archivist/archive"
	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/forward"
	"github.com/archivist-project/archivist/archive/genesys"
	"github.com/archivist-project/archivist/archive/globalrelay"
	"github.com/archivist-project/archivist/archive/salesforce"
	"github.com/archivist-project/archivist/archive/talkdesk"
	"github.com/archivist-project/archivist/cmd/archivist/control"
	"github.com/archivist-project/archivist/config"
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/systemd"
	"github.com/archivist-project/archivist/watcher"
)

func runCommand(ctx context.Context, args []string) error {
	fs := newFlagSet("run", "--config FILE")
	cfgPath := fs.String("config", "/etc/archivist/archivist.yml", "configuration `file`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg.Log, os.Stderr)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	return run(ctx, cfg, log)
}

// run is the daemon: journal, Global Relay client, pipeline and watcher, until ctx ends.
func run(ctx context.Context, cfg *config.Config, log *logrus.Logger) error {
	j, err := journal.Open(cfg.Journal, journal.Options{})
	if err != nil {
		return err
	}
	defer j.Close()

	gr := cfg.GlobalRelay
	if gr.InsecureSkipVerify {
		log.Warn("TLS certificate verification is OFF (globalrelay.insecure_skip_verify): use only for testing")
	}
	client, err := globalrelay.New(globalrelay.Options{
		BaseURL:     gr.URL,
		TokenURL:    gr.TokenURL,
		Credentials: gr.Credentials.Reveal(),
		HTTPClient:  globalrelay.NewHTTPClient(gr.InsecureSkipVerify, gr.ResponseTimeout.Std(), cfg.Workers+2),
	})
	if err != nil {
		return fmt.Errorf("globalrelay: %w", err)
	}

	forwarders, err := newForwarders(cfg)
	if err != nil {
		return err
	}
	var w *watcher.Watcher
	p := archive.New(j, client, archive.Options{
		Forwarders:          forwarders,
		Watches:             pipelineWatches(cfg),
		Workers:             cfg.Workers,
		MaxFileSize:         gr.MaxFileSize,
		ConversationType:    gr.ConversationType,
		MaxEventsPerRequest: gr.MaxEventsPerRequest,
		MaxRequestBytes:     gr.MaxRequestBytes,
		Backoff:             failure.Backoff{Min: cfg.Retry.MinDelay.Std(), Max: cfg.Retry.MaxDelay.Std()},
		ShutdownTimeout:     cfg.ShutdownTimeout.Std(),
		Logger:              log,
		Recheck:             func(watch, rel string) { w.Recheck(watch, rel) },
	})
	if err := p.ReleaseOnConfigChange(configFingerprint(cfg)); err != nil {
		return err
	}
	w, err = watcher.New(watcherRoots(cfg), watcher.Options{
		Logger: log,
		Known: func(f watcher.File) bool {
			return j.Known(f.Watch, f.RelPath, f.Size, f.ModTime, f.Inode, f.Kind)
		},
		Settled: p.Intake,
	})
	if err != nil {
		return err
	}

	log.WithFields(logrus.Fields{"version": Version, "journal": cfg.Journal, "watches": len(cfg.Watches),
		"archive": gr.URL}).Info("archivist started")
	watchDone := make(chan error, 1)
	go func() { watchDone <- w.Run(ctx) }()

	// systemd: ready once the journal is open and the watches are set up (not after the first
	// scan, which may take long), a status line with the queue, and watchdog pings while the
	// journal answers.
	svc := &control.Service{J: j, P: p, Watches: watchInfos(cfg), Version: Version, Started: time.Now(),
		StaleAfter: cfg.Reconcile.StaleAfter.Std(),
		Extra: func(st *control.Status) {
			for name, h := range p.DestinationHealth() {
				st.Destinations[name] = h
			}
		}}
	socket := controlSocket(cfg)
	controlDone := make(chan error, 1)
	go func() { controlDone <- control.Serve(ctx, socket, svc, nil) }()
	stopCron, err := scheduleReconcile(ctx, cfg, p, log)
	if err != nil {
		return err
	}
	defer stopCron()

	sd := systemd.NewNotifier()
	_ = sd.Ready()
	go sd.RunWatchdog(ctx, func() bool { _, err := j.Counts(); return err == nil })
	go reportStatus(ctx, sd, j, p)

	perr := p.Run(ctx)
	_ = sd.Stopping()
	werr := <-watchDone
	cerr := <-controlDone
	if err := errors.Join(perr, werr, cerr); err != nil {
		return err
	}
	log.Info("archivist stopped")
	return nil
}

// reportStatus keeps systemd's STATUS= line current with the queue figures.
func reportStatus(ctx context.Context, sd *systemd.Notifier, j *journal.DB, p *archive.Pipeline) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		if counts, err := j.Counts(); err == nil {
			h := p.Health()
			state := "archive up"
			if !h.Up {
				state = fmt.Sprintf("archive paused (%d failures): %s", h.Failures, h.LastError)
			}
			_ = sd.Status(fmt.Sprintf("%d pending, %d held, %d archived; %s",
				counts[journal.Discovered]+counts[journal.Uploaded], counts[journal.Held], counts[journal.Posted], state))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// newLogger builds the logger: text on a terminal, JSON otherwise, unless the config says.
func newLogger(c config.Log, out *os.File) (*logrus.Logger, error) {
	log := logrus.New()
	log.SetOutput(out)
	level, err := logrus.ParseLevel(c.Level)
	if err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	log.SetLevel(level)
	format := c.Format
	if format == "" || format == "auto" {
		format = "json"
		if _, err := unix.IoctlGetTermios(int(out.Fd()), unix.TCGETS); err == nil {
			format = "text"
		}
	}
	if format == "json" {
		log.SetFormatter(&logrus.JSONFormatter{TimestampFormat: time.RFC3339Nano})
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
		if _, err := p.Reconcile(ctx, cfg.Reconcile.StaleAfter.Std(), true); err != nil && ctx.Err() == nil {
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
