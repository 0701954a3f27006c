package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/archivist-project/archivist/cmd/archivist/control"
	"github.com/archivist-project/archivist/config"
	"github.com/archivist-project/archivist/journal"
)

// journalCompactCommand is `archivist journal compact [--older-than DAYS]`: it removes the audit
// detail (failed attempts, waits) of finished files written more than audit_retention_days
// (or DAYS) ago, keeping the audit chain verifiable. With the daemon running it asks the
// daemon, which does it in short transactions while it keeps archiving; the pages freed are
// reused by new writes. With the daemon stopped it also rewrites the journal into a smaller
// file (the only way bbolt gives space back to the file system).
func journalCompactCommand() *cobra.Command {
	c := &cobra.Command{Use: "compact [--older-than DAYS]", Short: "remove old audit detail, keeping the audit chain verifiable", Args: cobra.ArbitraryArgs}
	cfgPath := configFlag(c.Flags())
	days := c.Flags().Int("older-than", -1, "remove the audit detail older than this many `days` (default: audit_retention_days)")
	timeout := timeoutFlag(c.Flags())
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if *days < -1 || len(args) > 0 {
			return usageError{fmt.Errorf("--older-than %d: want a number of days, 0 or more, and no other arguments", *days)}
		}
		return journalCompact(cmd.Context(), *cfgPath, *days, *timeout, os.Stdout)
	}
	return c
}

// journalCompact compacts with the cutoff of days (-1: audit_retention_days).
func journalCompact(ctx context.Context, cfgPath string, days int, timeout time.Duration, w io.Writer) error {
	cfg, err := config.LoadWithoutSecrets(cfgPath)
	if err != nil {
		return configError{err}
	}
	before := cfg.AuditCutoff(time.Now())
	if days >= 0 {
		before = time.Now().AddDate(0, 0, -days)
	}
	if c, err := control.Dial(controlSocket(cfg), timeout); err == nil {
		return compactOnline(ctx, c, before, w)
	}
	st, err := journal.CompactFile(ctx, cfg.Journal, journal.FileCompactOptions{Before: before, After: compactPause(os.Stderr)})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "journal   %s (the daemon is stopped: compacted offline)\n", cfg.Journal)
	printAudit(w, before, st.Audit.Removed, st.Audit.FreedBytes, st.Audit.Transactions)
	fmt.Fprintf(w, "file      %d bytes, was %d\n", st.SizeAfter, st.SizeBefore)
	return nil
}

func compactOnline(ctx context.Context, c control.Compacter, before time.Time, w io.Writer) error {
	if before.IsZero() {
		return usageError{errors.New("nothing to remove: audit_retention_days is not set (give --older-than DAYS); to shrink the file, stop the daemon and run this again")}
	}
	res, err := c.CompactJournal(ctx, control.CompactRequest{Before: before})
	if err != nil {
		return fmt.Errorf("the daemon's compaction: %w", err)
	}
	fmt.Fprintln(w, "journal   compacted by the running daemon")
	printAudit(w, before, res.Removed, res.FreedBytes, res.Transactions)
	fmt.Fprintf(w, "file      %d bytes, of which %d free for new writes; the file shrinks when compacted with the daemon stopped\n",
		res.FileBytes, res.FreeBytes)
	return nil
}

func printAudit(w io.Writer, before time.Time, removed, freed uint64, txs int) {
	if before.IsZero() {
		fmt.Fprintln(w, "audit     kept whole (audit_retention_days is not set)")
		return
	}
	fmt.Fprintf(w, "audit     %d detail entries written before %s removed (%d bytes), in %d transactions; the audit chain stays verifiable\n",
		removed, before.UTC().Format(time.RFC3339), freed, txs)
}

// compactPause stops the command at the step named by ARCHIVIST_TEST_COMPACT_PAUSE, for the
// crash tests: it says so on w and waits to be killed.
func compactPause(w io.Writer) func(step string) {
	at := os.Getenv("ARCHIVIST_TEST_COMPACT_PAUSE")
	if at == "" {
		return nil
	}
	return func(step string) {
		if step == at {
			fmt.Fprintf(w, "compact paused at %s\n", step)
			select {}
		}
	}
}

// retentionSchedule is when the daemon applies audit_retention_days: every night.
const retentionSchedule = "@daily"

// scheduleAuditRetention removes the audit detail older than audit_retention_days on
// schedule, as `archivist journal compact` does online, until ctx ends; the returned stop
// waits for a run in progress. With no retention it schedules nothing. The value is read at
// start: a reload (SIGHUP) does not change it.
func scheduleAuditRetention(ctx context.Context, cfg *config.Config, spec string, j *journal.DB, log *logrus.Logger) (stop func()) {
	if cfg.AuditRetentionDays <= 0 {
		return func() {}
	}
	c := cron.New()
	_, err := c.AddFunc(spec, func() {
		before := cfg.AuditCutoff(time.Now())
		st, err := j.CompactAudit(ctx, before, journal.CompactOptions{})
		if err != nil {
			if ctx.Err() == nil {
				log.WithError(err).Error("audit retention: compaction failed")
			}
			return
		}
		log.WithFields(logrus.Fields{"before": before.UTC().Format(time.RFC3339), "removed": st.Removed, "bytes": st.FreedBytes,
			"transactions": st.Transactions}).Info("audit retention: old audit detail removed")
	})
	if err != nil { // the spec is a constant of this file; only a test could get it wrong
		log.WithError(err).Error("audit retention: not scheduled")
		return func() {}
	}
	c.Start()
	return func() { <-c.Stop().Done() }
}
