package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/archivist-project/archivist/config"
	"github.com/archivist-project/archivist/journal"
)

// journalCommand is `archivist journal check [--full]`, `archivist journal rebuild` and
// `archivist journal compact`. The subcommand may come after flags (`journal --config FILE check`).
func journalCommand() *cobra.Command {
	return groupCommand("journal",
		"check the journal (check [--full]), rebuild a damaged one (rebuild), remove old audit detail (compact)",
		"'journal check [--full]', 'journal rebuild' or 'journal compact [--older-than DAYS]'",
		journalCheckCommand(), journalRebuildCommand(), journalCompactCommand())
}

func journalCheckCommand() *cobra.Command {
	c := &cobra.Command{Use: "check [--full]", Short: "check the journal without changing it (exit 5 if it is damaged)", Args: noArgs}
	cfgPath := configFlag(c.Flags())
	full := c.Flags().Bool("full", false, "check every page, record and index, not only the meta pages, size, freelist and root")
	c.RunE = func(*cobra.Command, []string) error { return journalCheck(*cfgPath, *full, os.Stdout) }
	return c
}

func journalRebuildCommand() *cobra.Command {
	c := &cobra.Command{Use: "rebuild", Short: "make a new journal from what a damaged one still yields", Args: noArgs}
	cfgPath := configFlag(c.Flags())
	c.RunE = func(*cobra.Command, []string) error { return journalRebuild(*cfgPath, os.Stdout) }
	return c
}

func journalCheck(cfgPath string, full bool, w io.Writer) error {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	rep, err := journal.CheckFile(cfg.Journal, full, 2*time.Second)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "journal   %s\n", cfg.Journal)
	if full {
		fmt.Fprintf(w, "records   %d\n", rep.Records)
	}
	for _, s := range rep.Warnings {
		fmt.Fprintf(w, "warning   %s\n", s)
	}
	for _, q := range rep.Quarantined {
		fmt.Fprintf(w, "quarantined #%d at %s: %s\n", q.ID, q.Time.Format(time.RFC3339), q.Reason)
	}
	for _, s := range rep.Problems {
		fmt.Fprintf(w, "DAMAGE    %s\n", s)
	}
	if len(rep.Problems) > 0 {
		return fmt.Errorf("journal %s: %w: %d problem(s); 'archivist journal rebuild' makes a new journal from what survives",
			cfg.Journal, journal.ErrDamaged, len(rep.Problems))
	}
	what := "meta pages, size, freelist and root"
	if full {
		what = "every page, record and index"
	}
	fmt.Fprintf(w, "ok        %s are sound\n", what)
	return nil
}

func journalRebuild(cfgPath string, w io.Writer) error {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	jpath := cfg.Journal
	unlock, err := lockJournal(jpath)
	if err != nil {
		return err
	}
	defer unlock()
	s, err := journal.SalvageFile(jpath)
	if err != nil {
		return err
	}
	tmp := jpath + ".rebuild"
	for _, p := range []string{tmp, journal.MarkerPath(tmp)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rebuild: %w", err)
		}
	}
	db, err := journal.Rebuild(tmp, s)
	if err != nil {
		return err
	}
	missing, err := unrecorded(db, cfg)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	aside, err := swapJournal(jpath, tmp)
	if err != nil {
		return err
	}
	printRebuild(w, jpath, aside, s, missing)
	return nil
}

// lockJournal takes the lock bbolt takes, so no daemon works on the journal while it is
// rebuilt; a missing file needs no lock.
func lockJournal(path string) (func(), error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s: %w (stop the daemon before rebuilding)", path, journal.ErrLocked)
	}
	return func() { f.Close() }, nil
}

// swapJournal keeps the damaged journal aside (renamed, never deleted) and puts the rebuilt
// one and its marker in its place. It returns where the damaged one is now ("" if none).
func swapJournal(path, rebuilt string) (string, error) {
	aside := ""
	if _, err := os.Stat(path); err == nil {
		aside = fmt.Sprintf("%s.damaged-%s", path, time.Now().UTC().Format("20060102T150405Z"))
		if err := os.Rename(path, aside); err != nil {
			return "", fmt.Errorf("rebuild: keep the damaged journal aside: %w", err)
		}
	}
	if err := os.Rename(rebuilt, path); err != nil {
		return aside, fmt.Errorf("rebuild: the damaged journal is kept as %s, but the rebuilt one could not take its place: %w", aside, err)
	}
	if err := os.Rename(journal.MarkerPath(rebuilt), journal.MarkerPath(path)); err != nil {
		return aside, fmt.Errorf("rebuild: marker: %w", err)
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return aside, err
	}
	defer d.Close()
	return aside, d.Sync()
}

// unrecorded lists the files in the watch folders that the rebuilt journal has no record
// of: the daemon archives them again (the same bytes get the same key, so a second upload
// is harmless, but their events are posted again).
func unrecorded(db *journal.DB, cfg *config.Config) ([]string, error) {
	var out []string
	for _, wc := range cfg.Watches {
		err := filepath.WalkDir(wc.Path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				out = append(out, fmt.Sprintf("%s: cannot read: %v", p, err))
				return nil
			}
			if ignored(wc.Ignore, d.Name()) && p != wc.Path {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			rel, err := filepath.Rel(wc.Path, p)
			if err != nil {
				return err
			}
			_, ok, err := db.Current(wc.Name, filepath.ToSlash(rel))
			if err != nil {
				return err
			}
			if !ok {
				out = append(out, fmt.Sprintf("%s:%s", wc.Name, filepath.ToSlash(rel)))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func ignored(patterns []string, name string) bool {
	for _, pat := range patterns {
		if ok, _ := path.Match(pat, name); ok {
			return true
		}
	}
	return false
}

func printRebuild(w io.Writer, journalPath, aside string, s *journal.Salvage, missing []string) {
	fmt.Fprintf(w, "rebuilt   %s: %d records, %d audit entries, %d conversations recovered from %d pages\n",
		journalPath, len(s.Records), len(s.Audit), len(s.Conversations), s.Pages)
	if aside != "" {
		fmt.Fprintf(w, "kept      the damaged journal as %s\n", aside)
	}
	for _, p := range s.Skipped {
		fmt.Fprintf(w, "skipped   %s\n", p)
	}
	if o := s.Orphans(); len(o) > 0 {
		fmt.Fprintf(w, "REVIEW    %d records were found only outside the journal's tree (below a damaged page, or older copies): "+
			"their state may be older than it was, so their files may be archived again (ids %s)\n", len(o), idRanges(o))
	}
	if lost := s.Lost(); len(lost) > 0 {
		fmt.Fprintf(w, "REVIEW    %d records were lost (ids %s); their files are archived again if still on disk\n", len(lost), idRanges(lost))
	}
	for _, m := range missing {
		fmt.Fprintf(w, "REVIEW    not in the journal, will be archived again: %s\n", m)
	}
	fmt.Fprintf(w, "-- %d files will be archived again; the archive may show them twice\n", len(missing))
}

// idRanges writes ids (sorted) as ranges: 3-7, 9.
func idRanges(ids []uint64) string {
	out := ""
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if out != "" {
			out += ", "
		}
		if j > i {
			out += fmt.Sprintf("%d-%d", ids[i], ids[j])
		} else {
			out += fmt.Sprint(ids[i])
		}
		i = j + 1
	}
	return out
}

// stopOnDamage returns a context canceled when the journal is found damaged under the
// running daemon (truncated, a page that faults): the daemon stops writing, says why and
// exits with the damage status (run returns the journal's error). Its goroutines are in bg.
func stopOnDamage(ctx context.Context, bg *sync.WaitGroup, j *journal.DB, log *logrus.Logger) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	bg.Go(func() { j.WatchSize(ctx.Done(), time.Second) })
	bg.Go(func() {
		select {
		case <-j.Damaged():
			log.WithError(j.Err()).Error("JOURNAL DAMAGED: stopping, nothing more is written to it; " +
				"'archivist journal check --full' says more, 'archivist journal rebuild' makes a new journal from what survives")
			cancel()
		case <-ctx.Done():
		}
	})
	return ctx
}
