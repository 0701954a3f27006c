package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/archivist-project/archivist/cmd/archivist/control"
)

func reportCommand(ctx context.Context, args []string) error {
	fs := newFlagSet("report", "[--config FILE] [--since DATE] [--until DATE] [--format csv|json] [--output FILE]")
	cfgPath := configFlag(fs)
	timeout := timeoutFlag(fs)
	since := fs.String("since", "", "files discovered at or after this date or RFC 3339 time")
	until := fs.String("until", "", "files discovered before this date or RFC 3339 time")
	format := fs.String("format", "csv", "csv or json (one object per line)")
	output := fs.String("output", "", "write to this file instead of standard output")
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
	api, _, done, err := connect(*cfgPath, false, *timeout)
	if err != nil {
		return err
	}
	defer done()
	out := os.Stdout
	if *output != "" {
		f, err := os.Create(*output)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	return api.Report(ctx, out, q)
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
