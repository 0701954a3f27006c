package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/archivist-project/archivist/cmd/archivist/control"
)

// dismissCommand is `archivist dismiss ID --reason TEXT` (Postfix's postsuper -d): an operator
// gives up on a held file. Only a held record can be dismissed; it becomes dismissed (final),
// the reason and who gave it go into the audit trail, and the file is not archived (a new
// version of it is). Like retry, it asks the running daemon, or works on the journal itself
// when none runs.
func dismissCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "dismiss ID --reason TEXT",
		Short: "give up on a held file, with a reason kept in the audit trail (like postsuper -d)",
		Args:  exactArgs(1, "name one held record id"),
	}
	cfgPath := configFlag(c.Flags())
	timeout := timeoutFlag(c.Flags())
	reason := c.Flags().String("reason", "", "why the file is not to be archived (required; kept in the audit trail)")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := recordID(args[0])
		if err != nil {
			return err
		}
		if strings.TrimSpace(*reason) == "" {
			return usageError{errors.New("--reason TEXT is required: the audit trail keeps why a file was not archived")}
		}
		return dismiss(cmd.Context(), *cfgPath, *timeout, control.DismissRequest{ID: id, Reason: *reason, By: operatorName()})
	}
	return c
}

func dismiss(ctx context.Context, cfgPath string, timeout time.Duration, req control.DismissRequest) error {
	api, _, done, err := connect(cfgPath, true, timeout)
	if err != nil {
		return err
	}
	defer done()
	res, err := api.Dismiss(ctx, req)
	if err != nil {
		return err
	}
	if !res.Dismissed {
		return fmt.Errorf("nothing dismissed: %s", res.NotDismissed)
	}
	fmt.Printf("#%d dismissed: %s\n", req.ID, strings.TrimSpace(req.Reason))
	return nil
}

// operatorName is who runs the command, for the audit trail: the user, and the one who
// called sudo.
func operatorName() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if s := os.Getenv("SUDO_USER"); s != "" && s != name {
		return name + " (sudo by " + s + ")"
	}
	return name
}
