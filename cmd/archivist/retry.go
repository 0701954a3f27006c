package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/archivist-project/archivist/cmd/archivist/control"
)

func retryCommand() *cobra.Command {
	c := &cobra.Command{Use: "retry ID | --all-held", Short: "put a held file (or --all-held) back to work", Args: cobra.ArbitraryArgs}
	fs := c.Flags()
	cfgPath := configFlag(fs)
	timeout := timeoutFlag(fs)
	allHeld := fs.Bool("all-held", false, "put every held file back to work")
	dest := fs.String("destination", "", "only the work of this forwarding destination")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		req := control.RetryRequest{AllHeld: *allHeld, Destination: *dest}
		switch {
		case len(args) == 1 && !*allHeld:
			id, err := recordID(args[0])
			if err != nil {
				return err
			}
			req.ID = id
		case len(args) == 0 && *allHeld:
		default:
			return usageError{fmt.Errorf("name one record id, or --all-held")}
		}
		return retry(cmd.Context(), *cfgPath, *timeout, req)
	}
	return c
}

// recordID is the record id an operator typed ("4" or "#4").
func recordID(s string) (uint64, error) {
	id, err := strconv.ParseUint(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil {
		return 0, usageError{fmt.Errorf("%q is not a record id", s)}
	}
	return id, nil
}

func retry(ctx context.Context, cfgPath string, timeout time.Duration, req control.RetryRequest) error {
	api, _, done, err := connect(cfgPath, true, timeout)
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
