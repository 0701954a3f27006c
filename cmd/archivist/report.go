package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/archivist-project/archivist/cmd/archivist/control"
)

// reportFlags are report's flags.
type reportFlags struct {
	cfgPath, since, until, format, output, signKey, sigPath string
	timeout                                                 time.Duration
}

func reportCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "report [--since DATE] [--until DATE] [--format csv|json] [--output FILE [--sign KEY [--signature FILE]]]",
		Short: "chain-of-custody report of files discovered in a period (CSV or JSON)",
		Args:  noArgs,
	}
	var rf reportFlags
	fs := c.Flags()
	cfgPath, timeout := configFlag(fs), timeoutFlag(fs)
	fs.StringVar(&rf.since, "since", "", "files discovered at or after this date or RFC 3339 time")
	fs.StringVar(&rf.until, "until", "", "files discovered before this date or RFC 3339 time")
	fs.StringVar(&rf.format, "format", "csv", "csv, or json (one array of objects with typed values)")
	fs.StringVar(&rf.output, "output", "", "write to this file instead of standard output")
	fs.StringVar(&rf.signKey, "sign", "", "sign the report with this Ed25519 private key (archivist keygen); needs --output")
	fs.StringVar(&rf.sigPath, "signature", "", "where the detached signature goes (default: the output file + .sig)")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		rf.cfgPath, rf.timeout = *cfgPath, *timeout
		return report(cmd.Context(), rf)
	}
	return c
}

func report(ctx context.Context, rf reportFlags) error {
	q := control.ReportQuery{Format: rf.format}
	var err error
	if q.Since, err = parseDate(rf.since); err != nil {
		return usageError{fmt.Errorf("--since: %w", err)}
	}
	if q.Until, err = parseDate(rf.until); err != nil {
		return usageError{fmt.Errorf("--until: %w", err)}
	}
	if rf.format != "csv" && rf.format != "json" {
		return usageError{fmt.Errorf("--format %q: want csv or json", rf.format)}
	}
	if rf.signKey != "" && rf.output == "" {
		return usageError{errors.New("--sign needs --output FILE: the signature is of a file")}
	}
	api, _, done, err := connect(rf.cfgPath, false, rf.timeout)
	if err != nil {
		return err
	}
	defer done()
	if rf.output == "" {
		return api.Report(ctx, os.Stdout, q)
	}
	var head chainHead
	if rf.signKey != "" { // the chain as it stands when the report is made
		st, err := api.Status(ctx)
		if err != nil {
			return err
		}
		head = chainHead{hash: st.ChainHead, entries: st.ChainEntries}
	}
	if err := writeReport(ctx, api, rf.output, q); err != nil {
		return err
	}
	if rf.signKey == "" {
		return nil
	}
	if rf.sigPath == "" {
		rf.sigPath = rf.output + ".sig"
	}
	if err := signReport(rf.signKey, rf.output, rf.sigPath, rf.format, reportPeriod{q.Since, q.Until}, head); err != nil {
		return fmt.Errorf("sign %s: %w", rf.output, err)
	}
	fmt.Fprintf(os.Stderr, "signed: %s\n", rf.sigPath)
	return nil
}

// writeReport writes the report to path and syncs it, so a signature is never of a file
// still being written.
func writeReport(ctx context.Context, api control.API, path string, q control.ReportQuery) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := api.Report(ctx, f, q); err != nil {
		f.Close()
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

func parseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2006-01-02) or RFC 3339 time", s)
}
