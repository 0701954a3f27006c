package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive"
	"github.com/archivist-project/archivist/cmd/archivist/evidence"
	"github.com/archivist-project/archivist/config"
	"github.com/archivist-project/archivist/journal"
)

// scheduleDaily runs the daily reconciliation report on daily_report.schedule until ctx ends;
// stop waits for a run in progress. Off, it schedules nothing.
func scheduleDaily(ctx context.Context, cfg *config.Config, p *archive.Pipeline, j *journal.DB, log *logrus.Logger) (stop func(), err error) {
	d := cfg.DailyReport
	if d.Folder == "" {
		return func() {}, nil
	}
	var key ed25519.PrivateKey
	if d.SigningKey != "" {
		if key, err = evidence.LoadPrivateKey(d.SigningKey); err != nil {
			return nil, configError{fmt.Errorf("daily_report.signing_key: %w", err)}
		}
	}
	c := cron.New(cron.WithLocation(d.Location))
	if _, err := c.AddFunc(d.Schedule, func() {
		path, unexplained, err := writeDaily(ctx, cfg, p, j, key, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			log.WithError(err).Error("daily reconciliation report failed")
		case unexplained > 0:
			log.WithFields(logrus.Fields{"path": path, "unexplained": unexplained}).Warn("daily reconciliation report: files on disk are not accounted for")
		case err == nil:
			log.WithField("path", path).Info("daily reconciliation report written")
		}
	}); err != nil {
		return nil, fmt.Errorf("daily_report.schedule: %w", err)
	}
	c.Start()
	return func() { <-c.Stop().Done() }, nil
}

// writeDaily reconciles now and writes the report of the day before now (in the report's
// time zone) with the reconciliation's findings. It returns the path and the unexplained count.
func writeDaily(ctx context.Context, cfg *config.Config, p *archive.Pipeline, j *journal.DB, key ed25519.PrivateKey, now time.Time) (string, int, error) {
	loc := cfg.DailyReport.Location
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	day := evidence.Period{From: today.AddDate(0, 0, -1), To: today}
	sum, err := p.Reconcile(ctx, cfg.Reconcile.StaleAfter.Std(), true, cfg.Reconcile.VerifyFiles)
	if err != nil {
		return "", 0, fmt.Errorf("reconcile: %w", err)
	}
	t := evidence.NewTally(day)
	if err := j.Each(func(r *journal.Record) bool { t.Add(r); return true }); err != nil {
		return "", 0, err
	}
	rep := &evidence.DailyReport{Day: day.From.Format("2006-01-02"), Timezone: loc.String(), From: day.From, To: day.To,
		Generated: now.UTC(), Total: t.Total, Watches: t.Watches, Destinations: t.Destinations}
	r := &rep.Reconciliation
	r.Time, r.OnDisk, r.Archived, r.Held, r.Pending = sum.Time, sum.OnDisk, sum.Archived, sum.Held, sum.Pending
	r.Unexplained, r.Examples, r.Errors = sum.Unexplained, sum.Examples, sum.Errors
	if rep.ChainHead, rep.ChainEntries, err = j.ChainHead(); err != nil {
		return "", 0, err
	}
	if rep.UnresolvedParticipants, err = j.UnresolvedCount(); err != nil {
		return "", 0, err
	}
	path, err := evidence.WriteDaily(cfg.DailyReport.Folder, rep, key)
	return path, sum.Unexplained, err
}
