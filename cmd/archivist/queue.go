package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/archivist-project/archivist/cmd/archivist/control"
	"github.com/archivist-project/archivist/journal"
)

func queueCommand() *cobra.Command {
	c := &cobra.Command{Use: "queue", Short: "list files not archived yet (or --state held), like mailq", Args: noArgs}
	fs := c.Flags()
	cfgPath := configFlag(fs)
	timeout := timeoutFlag(fs)
	state := fs.String("state", "", "only records in this state ("+statesList()+")")
	watch := fs.String("watch", "", "only records of this watch")
	dest := fs.String("destination", "", "only records with work pending for this forwarding destination")
	all := fs.Bool("all", false, "include archived records")
	limit := fs.Int("limit", 0, "at most this many (0: all)")
	asJSON := fs.Bool("json", false, "print JSON")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if *state != "" && !validState(*state) {
			return usageError{fmt.Errorf("--state %q: want one of %s", *state, statesList())}
		}
		f := control.Filter{State: journal.State(*state), Watch: *watch, Destination: *dest, All: *all, Limit: *limit}
		return queue(cmd.Context(), *cfgPath, *timeout, f, *asJSON)
	}
	return c
}

func queue(ctx context.Context, cfgPath string, timeout time.Duration, f control.Filter, asJSON bool) error {
	api, _, done, err := connect(cfgPath, false, timeout)
	if err != nil {
		return err
	}
	defer done()
	items, err := api.Queue(ctx, f)
	if err != nil {
		return err
	}
	if asJSON {
		if items == nil {
			items = []control.Item{} // one array, empty or not
		}
		return printJSON(os.Stdout, items)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSIZE\tAGE\tFILE\tWHY")
	for _, it := range items {
		why := it.Reason
		if why == "" {
			why = it.LastError
		}
		if it.Attempts > 0 {
			why = fmt.Sprintf("%d attempts: %s", it.Attempts, why)
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s:%q\t%s\n", it.ID, it.State, it.Size, age(it.DiscoveredAt), it.Watch, it.Path, why)
	}
	tw.Flush()
	fmt.Printf("-- %d records\n", len(items))
	return nil
}

func validState(s string) bool {
	for _, st := range journal.States {
		if string(st) == s {
			return true
		}
	}
	return false
}

func statesList() string {
	var out []string
	for _, st := range journal.States {
		out = append(out, string(st))
	}
	return strings.Join(out, ", ")
}
