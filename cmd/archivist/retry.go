package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/archivist-project/archivist/cmd/archivist/control"
)

func retryCommand(ctx context.Context, args []string) error {
	fs := newFlagSet("retry", "[--config FILE] ID | --all-held [--destination NAME]")
	cfgPath := configFlag(fs)
	timeout := timeoutFlag(fs)
	allHeld := fs.Bool("all-held", false, "put every held file back to work")
	dest := fs.String("destination", "", "only the work of this forwarding destination")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	req := control.RetryRequest{AllHeld: *allHeld, Destination: *dest}
	switch {
	case fs.NArg() == 1 && !*allHeld:
		id, err := strconv.ParseUint(strings.TrimPrefix(fs.Arg(0), "#"), 10, 64)
		if err != nil {
			return usageError{fmt.Errorf("%q is not a record id", fs.Arg(0))}
		}
		req.ID = id
	case fs.NArg() == 0 && *allHeld:
	default:
		return usageError{fmt.Errorf("name one record id, or --all-held")}
	}
	api, _, done, err := connect(*cfgPath, true, *timeout)
	if err != nil {
		return err
	}
	defer done()
	res, err := api.Retry(ctx, req)
	if err != nil {
		return err
	}
	if res.NotReleased != "" {
		return fmt.Errorf("nothing put back to work: %s", res.NotReleased)
	}
	fmt.Printf("%d records put back to work\n", res.Released)
	return nil
}
