package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/archivist-project/archivist/archive"
	"github.com/archivist-project/archivist/archive/reconcile"
	"github.com/archivist-project/archivist/cmd/archivist/control"
)

func reconcileCommand() *cobra.Command {
	c := &cobra.Command{Use: "reconcile", Short: "compare disk with the journal now; requeue what is missing", Args: noArgs}
	fs := c.Flags()
	cfgPath := configFlag(fs)
	timeout := timeoutFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	verify := fs.Bool("verify", false, "read every archived file again and compare its SHA-256 with the archived one")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		return reconcileNow(cmd.Context(), *cfgPath, *timeout, *verify, *asJSON)
	}
	return c
}

func reconcileNow(ctx context.Context, cfgPath string, timeout time.Duration, verify, asJSON bool) error {
	api, cfg, done, err := connect(cfgPath, true, timeout)
	if err != nil {
		return err
	}
	defer done()
	sum, err := api.Reconcile(ctx, verify)
	offline := errors.Is(err, control.ErrNotRunning)
	if offline {
		// Without the daemon nothing can be requeued; count and report only. The daemon's
		// start-up scan picks up whatever is unexplained (a file whose bytes a verify found
		// changed gives up its record's claim, so the scan records it again).
		svc := api.(*control.Service)
		n := 0
		if verify {
			n = reconcile.VerifyAll
		}
		sum, err = reconcile.Run(ctx, reconcile.Options{Journal: svc.J, Watches: archive.ReconcileWatches(pipelineWatches(cfg)),
			StaleAfter: cfg.Reconcile.StaleAfter.Std(), Verify: n})
	}
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(os.Stdout, sum)
	}
	fmt.Printf("reconciliation at %s (%s): %d on disk, %d archived, %d held, %d pending (%d failed, %d stale), %d vanished, %d unexplained\n",
		sum.Time.Format(time.RFC3339), sum.Duration.Round(time.Millisecond), sum.OnDisk, sum.Archived, sum.Held, sum.Pending,
		sum.Failed, sum.Stale, sum.Vanished, sum.Unexplained)
	if sum.Dismissed > 0 {
		fmt.Printf("%d files on disk were dismissed by an operator (archivist dismiss): accounted for, not archived\n", sum.Dismissed)
	}
	if verify {
		fmt.Printf("verified %d archived files: %d hash to the archived SHA-256, %d do not (requeued as new versions)\n",
			sum.Verified+sum.Mismatched, sum.Verified, sum.Mismatched)
	}
	for _, e := range sum.Errors {
		fmt.Println("could not read:", e)
	}
	if sum.Unexplained > 0 {
		what := "requeued"
		if offline {
			what = "the daemon is not running: they will be picked up when it starts"
		}
		fmt.Printf("WARNING: %d files on disk were neither archived nor queued (%s): %v\n", sum.Unexplained, what, sum.Examples)
	}
	return nil
}
