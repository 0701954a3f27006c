package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/archivist-project/archivist/cmd/archivist/control"
	"github.com/archivist-project/archivist/journal"
)

func statusCommand(ctx context.Context, args []string) error {
	fs := newFlagSet("status", "[--config FILE] [--json]")
	cfgPath := configFlag(fs)
	timeout := timeoutFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	api, _, done, err := connect(*cfgPath, false, *timeout)
	if err != nil {
		return err
	}
	defer done()
	st, err := api.Status(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := printJSON(os.Stdout, st); err != nil {
			return err
		}
		return notRunning(st)
	}
	w := os.Stdout
	if st.Running {
		fmt.Fprintf(w, "archivist %s running since %s\n", st.Version, st.Started.Format(time.RFC3339))
	} else {
		fmt.Fprintln(w, "archivist is NOT running (figures read from the journal)")
	}
	fmt.Fprintf(w, "journal   %s\n", st.Journal)
	for _, wi := range st.Watches {
		fmt.Fprintf(w, "watch     %-16s %-12s %s\n", wi.Name, wi.Mode, wi.Path)
	}
	fmt.Fprint(w, "files    ")
	for _, s := range journal.States {
		fmt.Fprintf(w, " %s %d", s, st.Counts[s])
	}
	fmt.Fprintln(w)
	lanes := make([]string, 0, len(st.Lanes))
	for l := range st.Lanes {
		lanes = append(lanes, l)
	}
	slices.Sort(lanes)
	if st.Running {
		fmt.Fprintf(w, "settling  %d files waiting to be complete\n", st.Settling)
	}
	fmt.Fprint(w, "queue    ")
	for _, l := range lanes {
		fmt.Fprintf(w, " %s %d", l, st.Lanes[l])
	}
	fmt.Fprintln(w)
	if st.OldestPending != nil {
		fmt.Fprintf(w, "oldest    #%d %s:%s, %s (%s) since %s\n", st.OldestPending.ID, st.OldestPending.Watch, st.OldestPending.Path,
			st.OldestPending.State, orNone(st.OldestPending.LastError), age(st.OldestPending.DiscoveredAt))
	}
	names := make([]string, 0, len(st.Destinations))
	for n := range st.Destinations {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		h := st.Destinations[n]
		if h.Up {
			fmt.Fprintf(w, "dest      %-16s up\n", n)
		} else {
			fmt.Fprintf(w, "dest      %-16s PAUSED after %d failures, next try in %s: %s\n", n, h.Failures, h.PausedFor.Round(time.Second), h.LastError)
		}
	}
	if st.Quarantined > 0 {
		fmt.Fprintf(w, "JOURNAL   %d records cannot be decoded and were quarantined (their files are archived again when seen); 'archivist journal check --full' lists them\n", st.Quarantined)
	}
	if st.Unresolved > 0 {
		fmt.Fprintf(w, "identity  %d unresolved participants archived under a fallback address; 'archivist identities unresolved --csv' lists them for the identity directory\n", st.Unresolved)
	}
	if st.JournalHealth != nil && !st.JournalHealth.Up {
		fmt.Fprintf(w, "JOURNAL   WRITES FAILING: %s\n", st.JournalHealth.LastError)
	}
	if r := st.LastReconciliation; r != nil {
		fmt.Fprintf(w, "reconcile %s: %d on disk, %d archived, %d held, %d pending (%d stale), %d unexplained\n",
			r.Time.Format(time.RFC3339), r.OnDisk, r.Archived, r.Held, r.Pending, r.Stale, r.Unexplained)
		if r.Unexplained > 0 {
			fmt.Fprintf(w, "WARNING   the last reconciliation found %d files neither archived nor queued (requeued): %v\n", r.Unexplained, r.Examples)
		}
	} else if st.LastReconciliationError != "" {
		fmt.Fprintf(w, "WARNING   %s\n", st.LastReconciliationError)
	} else {
		fmt.Fprintln(w, "reconcile never run")
	}
	return notRunning(st)
}

// notRunning is status's exit: exitNotRunning (3) when no daemon answered, so that scripts
// and monitoring can tell; the figures were still printed.
func notRunning(st *control.Status) error {
	if st.Running {
		return nil
	}
	return exitError{code: exitNotRunning, err: errors.New("")}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func orNone(s string) string {
	if s == "" {
		return "no error"
	}
	return s
}

func age(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return time.Since(t).Round(time.Second).String()
}
