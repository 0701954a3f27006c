package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"
)

func showCommand(ctx context.Context, args []string) error {
	fs := newFlagSet("show", "[--config FILE] [--json] ID|WATCH:PATH|/ABSOLUTE/PATH")
	cfgPath := configFlag(fs)
	timeout := timeoutFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{fmt.Errorf("name one record: an id, watch:path or an absolute path")}
	}
	api, _, done, err := connect(*cfgPath, false, *timeout)
	if err != nil {
		return err
	}
	defer done()
	d, err := api.Show(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(os.Stdout, d)
	}
	r := d.Record
	fmt.Printf("record     #%d\nfile       %s:%q\nstate      %s\n", r.ID, r.Watch, string(r.Path), r.State)
	if r.Reason != "" {
		fmt.Printf("reason     %s\n", r.Reason)
	}
	if r.LastError != "" {
		fmt.Printf("last error %s (%d attempts)\n", r.LastError, r.Attempts)
	}
	fmt.Printf("version    %s, %d bytes, mtime %s, ctime %s, inode %d\n", r.Kind, r.Size, r.ModTime.UTC().Format(time.RFC3339Nano),
		stampOrUnknown(r.CTime), r.Inode)
	if r.Sightings > 1 {
		fmt.Printf("seen       %d times, last %s\n", r.Sightings, r.LastSeen.UTC().Format(time.RFC3339))
	}
	if r.SHA256 != "" {
		fmt.Printf("sha256     %s\nmime       %s\nfileKey    %s\n", r.SHA256, r.MIME, r.FileKey)
	}
	if r.Conversation != "" {
		fmt.Printf("conversation %s: %d of %d events archived\n", r.Conversation, r.EventsPosted, r.Events)
	}
	names := make([]string, 0, len(r.Forwards))
	for n := range r.Forwards {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		f := r.Forwards[n]
		fmt.Printf("forward    %s: %s %s %s\n", n, f.State, f.RemoteID, f.Reason)
	}
	for lane, due := range r.Lanes {
		fmt.Printf("pending    %s due %s\n", lane, due.UTC().Format(time.RFC3339))
	}
	fmt.Println("history")
	for _, e := range d.Audit {
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
		fmt.Println(line)
	}
	return nil
}

// stampOrUnknown formats a time the journal may not know (recorded by an earlier version).
func stampOrUnknown(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339Nano)
}
