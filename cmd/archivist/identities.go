package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/archivist-project/archivist/journal"
)

// identitiesCommand is `archivist identities unresolved [--csv|--json]`: the chat participants
// archived under a fallback address because neither the export nor the identity directory gave
// theirs. --csv writes them in the directory's own format (source,id,email,name) with the email
// empty, for an admin to fill in and append to the directory; a reload then resolves them.
func identitiesCommand() *cobra.Command {
	return groupCommand("identities", "list chat participants archived under a fallback address (unresolved [--csv|--json])",
		"'identities unresolved [--csv|--json]'", identitiesUnresolvedCommand())
}

func identitiesUnresolvedCommand() *cobra.Command {
	c := &cobra.Command{Use: "unresolved [--csv|--json]", Short: "the participants archived under a fallback address", Args: noArgs}
	fs := c.Flags()
	cfgPath := configFlag(fs)
	timeout := timeoutFlag(fs)
	asCSV := fs.Bool("csv", false, "print CSV in the identity directory's format (source,id,email,name), email left empty to fill in")
	asJSON := fs.Bool("json", false, "print JSON")
	c.MarkFlagsMutuallyExclusive("csv", "json")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		return identitiesUnresolved(cmd.Context(), *cfgPath, *timeout, *asCSV, *asJSON, os.Stdout)
	}
	return c
}

func identitiesUnresolved(ctx context.Context, cfgPath string, timeout time.Duration, asCSV, asJSON bool, w io.Writer) error {
	api, _, done, err := connect(cfgPath, false, timeout)
	if err != nil {
		return err
	}
	defer done()
	people, err := api.Unresolved(ctx)
	if err != nil {
		return err
	}
	switch {
	case asJSON:
		if people == nil {
			people = []journal.Unresolved{}
		}
		return printJSON(w, people)
	case asCSV:
		return writeUnresolvedCSV(w, people)
	}
	return writeUnresolvedTable(w, people)
}

// writeUnresolvedCSV writes people as rows of an identity directory, email empty.
func writeUnresolvedCSV(w io.Writer, people []journal.Unresolved) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"source", "id", "email", "name"}); err != nil {
		return err
	}
	for _, p := range people {
		if err := cw.Write([]string{p.Source, p.ID, "", p.Name}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func writeUnresolvedTable(w io.Writer, people []journal.Unresolved) error {
	if len(people) == 0 {
		_, err := fmt.Fprintln(w, "no unresolved participants")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tID\tNAME\tEVENTS\tFIRST SEEN\tLAST SEEN\tWATCHES")
	for _, p := range people {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", p.Source, p.ID, orDash(p.Name), p.Events,
			p.FirstSeen.Format(time.RFC3339), p.LastSeen.Format(time.RFC3339), orDash(strings.Join(p.Watches, ",")))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d unresolved participants: 'archivist identities unresolved --csv' writes them as identity directory rows to fill in\n", len(people))
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
