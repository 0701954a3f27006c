package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/archivist-project/archivist/journal"
)

func showCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "show ID|WATCH:PATH|/ABSOLUTE/PATH",
		Short: "one file's record and whole history",
		Args:  exactArgs(1, "name one record: an id, watch:path or an absolute path"),
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
		d, err := api.Show(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(os.Stdout, d)
		}
		printRecord(os.Stdout, d.Record)
		printHistory(os.Stdout, d.Audit)
		return nil
	}
	return c
}

// printRecord writes what show says of a record before its history.
func printRecord(w io.Writer, r *journal.Record) {
	fmt.Fprintf(w, "record     #%d\nfile       %s:%q\nstate      %s\n", r.ID, r.Watch, string(r.Path), r.State)
	if r.Reason != "" {
		fmt.Fprintf(w, "reason     %s\n", r.Reason)
	}
	if r.LastError != "" {
		fmt.Fprintf(w, "last error %s (%d attempts)\n", r.LastError, r.Attempts)
	}
	fmt.Fprintf(w, "version    %s, %d bytes, mtime %s, ctime %s, inode %d\n", r.Kind, r.Size, r.ModTime.UTC().Format(time.RFC3339Nano),
		stampOrUnknown(r.CTime), r.Inode)
	if r.Sightings > 1 {
		fmt.Fprintf(w, "seen       %d times, last %s\n", r.Sightings, r.LastSeen.UTC().Format(time.RFC3339))
	}
	if r.SHA256 != "" {
		fmt.Fprintf(w, "sha256     %s\nmime       %s\nfileKey    %s\n", r.SHA256, r.MIME, r.FileKey)
	}
	if r.Conversation != "" {
		fmt.Fprintf(w, "conversation %s: %d of %d events archived\n", r.Conversation, r.EventsPosted, r.Events)
	}
	for _, n := range slices.Sorted(maps.Keys(r.Forwards)) {
		f := r.Forwards[n]
		fmt.Fprintf(w, "forward    %s: %s %s %s\n", n, f.State, f.RemoteID, f.Reason)
	}
	for lane, due := range r.Lanes {
		fmt.Fprintf(w, "pending    %s due %s\n", lane, due.UTC().Format(time.RFC3339))
	}
}

// printHistory writes a record's audit entries, one line each.
func printHistory(w io.Writer, audit []journal.Entry) {
	fmt.Fprintln(w, "history")
	for _, e := range audit {
		line := fmt.Sprintf("  %s  %-10s %-8s", e.Time.UTC().Format(time.RFC3339Nano), e.Step, e.Result)
		if e.Status != 0 {
			line += fmt.Sprintf(" HTTP %d", e.Status)
		}
		if e.FileKey != "" {
			line += " key=" + e.FileKey
		}
		if e.RequestID != "" {
			line += " request=" + e.RequestID
		}
		if e.Detail != "" {
			line += "  " + e.Detail
		}
		fmt.Fprintln(w, line)
	}
}

// stampOrUnknown formats a time the journal may not know (recorded by an earlier version).
func stampOrUnknown(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339Nano)
}
