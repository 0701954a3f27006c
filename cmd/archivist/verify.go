package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/archivist-project/archivist/config"
	"github.com/archivist-project/archivist/journal"
)

// verifyCommand is `archivist verify`: an auditor's check that the journal's audit trail was
// not modified. It walks the audit chain from its first link and every record, and names the
// first break. It reads the journal file directly, so the daemon must be stopped (it holds the
// file) — or run it on a copy of the journal.
func verifyCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "verify [--config FILE | --journal FILE]",
		Short: "check that the journal's audit trail was not modified (names the first break)",
		Args:  noArgs,
	}
	cfgPath := configFlag(c.Flags())
	path := c.Flags().String("journal", "", "verify this journal file (a copy, say) instead of the configured one")
	c.RunE = func(*cobra.Command, []string) error {
		if *path == "" {
			cfg, err := config.LoadWithoutSecrets(*cfgPath)
			if err != nil {
				return configError{err}
			}
			*path = cfg.Journal
		}
		return verifyJournal(*path)
	}
	return c
}

func verifyJournal(path string) error {
	db, err := journal.Open(path, journal.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return fmt.Errorf("%w (archivist verify reads the file: stop the daemon, or verify a copy with --journal)", err)
	}
	defer db.Close()
	rep, cerr := db.VerifyChain()
	if rep != nil {
		fmt.Fprintf(os.Stdout, "journal    %s\naudit      %d entries chained, %d from before the chain\nchain head %s\n",
			path, rep.Entries, rep.Unchained, rep.Head)
		if rep.Sealed > 0 || rep.Removed > 0 {
			fmt.Fprintf(os.Stdout, "compacted  %d of them kept at the compaction checkpoint, %d detail entries removed by audit retention\n", rep.Sealed, rep.Removed)
		}
	}
	if cerr != nil {
		if errors.Is(cerr, journal.ErrChainBroken) {
			fmt.Fprintf(os.Stdout, "BROKEN     %s\n", rep.Break)
		}
		return cerr
	}
	if err := db.Check(); err != nil {
		return fmt.Errorf("records and indexes: %w", err)
	}
	fmt.Fprintln(os.Stdout, "OK         the audit trail is as it was written; records and indexes agree")
	return nil
}
