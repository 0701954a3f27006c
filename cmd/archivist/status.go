package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/archivist-project/archivist/cmd/archivist/control"
	"github.com/archivist-project/archivist/journal"
)

func statusCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "status",
		Short: "watches, queue counts, destination health, last reconciliation (exit 3: no daemon runs)",
		Args:  noArgs,
	}
	cfgPath := configFlag(c.Flags())
	timeout := timeoutFlag(c.Flags())
	asJSON := c.Flags().Bool("json", false, "print JSON")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		api, _, done, err := connect(*cfgPath, false, *timeout)
		if err != nil {
			return err
		}
		defer done()
		st, err := api.Status(cmd.Context())
		if err != nil {
			return err
		}
		if *asJSON {
			if err := printJSON(os.Stdout, st); err != nil {
				return err
			}
		} else {
			printStatus(os.Stdout, st)
		}
		return notRunning(st)
	}
	return c
}

// printStatus writes st as status's table.
func printStatus(w io.Writer, st *control.Status) {
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
	if st.Running {
		fmt.Fprintf(w, "settling  %d files waiting to be complete\n", st.Settling)
	}
	fmt.Fprint(w, "queue    ")
	for _, l := range slices.Sorted(maps.Keys(st.Lanes)) {
		fmt.Fprintf(w, " %s %d", l, st.Lanes[l])
	}
	fmt.Fprintln(w)
	if o := st.OldestPending; o != nil {
		fmt.Fprintf(w, "oldest    #%d %s:%s, %s (%s) since %s\n", o.ID, o.Watch, o.Path, o.State, orNone(o.LastError), age(o.DiscoveredAt))
	}
	for _, n := range slices.Sorted(maps.Keys(st.Destinations)) {
		h := st.Destinations[n]
		if h.Up {
			fmt.Fprintf(w, "dest      %-16s up\n", n)
		} else {
			fmt.Fprintf(w, "dest      %-16s PAUSED after %d failures, next try in %s: %s\n", n, h.Failures, h.PausedFor.Round(time.Second), h.LastError)
		}
	}
	printStatusWarnings(w, st)
	printLastReconciliation(w, st)
}

// printStatusWarnings writes the lines of status that ask an operator to act.
func printStatusWarnings(w io.Writer, st *control.Status) {
	if st.Quarantined > 0 {
		fmt.Fprintf(w, "JOURNAL   %d records cannot be decoded and were quarantined (their files are archived again when seen); 'archivist journal check --full' lists them\n", st.Quarantined)
	}
	if st.Unresolved > 0 {
		fmt.Fprintf(w, "identity  %d unresolved participants archived under a fallback address; 'archivist identities unresolved --csv' lists them for the identity directory\n", st.Unresolved)
	}
	if st.JournalHealth != nil && !st.JournalHealth.Up {
		fmt.Fprintf(w, "JOURNAL   WRITES FAILING: %s\n", st.JournalHealth.LastError)
	}
}

func printLastReconciliation(w io.Writer, st *control.Status) {
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
