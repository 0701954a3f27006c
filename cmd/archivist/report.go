package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/archivist-project/archivist/cmd/archivist/control"
)

func reportCommand(ctx context.Context, args []string) error {
	fs := newFlagSet("report", "[--config FILE] [--since DATE] [--until DATE] [--format csv|json] [--output FILE [--sign KEY [--signature FILE]]]")
	cfgPath := configFlag(fs)
	timeout := timeoutFlag(fs)
	since := fs.String("since", "", "files discovered at or after this date or RFC 3339 time")
	until := fs.String("until", "", "files discovered before this date or RFC 3339 time")
	format := fs.String("format", "csv", "csv, or json (one array of objects with typed values)")
	output := fs.String("output", "", "write to this file instead of standard output")
	signKey := fs.String("sign", "", "sign the report with this Ed25519 private key (archivist keygen); needs --output")
	sigPath := fs.String("signature", "", "where the detached signature goes (default: the output file + .sig)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	q := control.ReportQuery{Format: *format}
	var err error
	if q.Since, err = parseDate(*since); err != nil {
		return usageError{fmt.Errorf("--since: %w", err)}
	}
	if q.Until, err = parseDate(*until); err != nil {
		return usageError{fmt.Errorf("--until: %w", err)}
	}
	if *format != "csv" && *format != "json" {
		return usageError{fmt.Errorf("--format %q: want csv or json", *format)}
	}
	if *signKey != "" && *output == "" {
		return usageError{errors.New("--sign needs --output FILE: the signature is of a file")}
	}
	api, _, done, err := connect(*cfgPath, false, *timeout)
	if err != nil {
		return err
	}
	defer done()
	if *output == "" {
		return api.Report(ctx, os.Stdout, q)
	}
	var head chainHead
	if *signKey != "" { // the chain as it stands when the report is made
		st, err := api.Status(ctx)
		if err != nil {
			return err
		}
		head = chainHead{hash: st.ChainHead, entries: st.ChainEntries}
	}
	if err := writeReport(ctx, api, *output, q); err != nil {
		return err
	}
	if *signKey == "" {
		return nil
	}
	if *sigPath == "" {
		*sigPath = *output + ".sig"
	}
	if err := signReport(*signKey, *output, *sigPath, *format, reportPeriod{q.Since, q.Until}, head); err != nil {
		return fmt.Errorf("sign %s: %w", *output, err)
	}
	fmt.Fprintf(os.Stderr, "signed: %s\n", *sigPath)
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
