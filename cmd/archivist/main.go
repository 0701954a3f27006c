// Command archivist watches drop folders and archives every complete file to Global Relay.
//
// main runs the command line (cobra: flags anywhere, help on stdout, shell completions and
// man pages from the same command tree) with a context that the first SIGINT/SIGTERM cancels
// (a second one aborts at once), and maps the command's error to an exit code.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/archivist-project/archivist/journal"
)

// Version is stamped by the Makefile with -ldflags "-X main.Version=...".
var Version = "dev"

// commands are archivist's subcommands, in the order help lists them.
func commands() []*cobra.Command {
	return []*cobra.Command{
		runCommand(), checkConfigCommand(), statusCommand(), queueCommand(), showCommand(), retryCommand(),
		dismissCommand(), reconcileCommand(), reportCommand(), identitiesCommand(), journalCommand(), keygenCommand(),
		verifyCommand(), verifyReportCommand(), sandboxCommand(), versionCommand(), manCommand(),
	}
}

// exitDamaged is the exit code of a command refused because the journal is damaged (or
// missing where one existed); 2 stays wrong usage.
const exitDamaged = 5

// usageError marks errors in how the command was called: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// realMain runs the command named by args and returns its exit code. Whatever fails before
// the command itself runs (an unknown command or flag, a flag's bad value, a wrong number of
// arguments) is wrong usage: exit 2.
func realMain(args []string, stdout, stderr io.Writer) int {
	root := rootCommand()
	root.SetOut(stdout)
	root.SetErr(stderr)
	started := false
	onRun(root, func() { started = true })
	root.SetArgs(doubleDashLongFlags(root, args))
	ctx, stop := signalContext()
	defer stop()
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil && !started && !errors.As(err, new(exitError)) {
		err = usageError{err}
	}
	return exitCode(cmd, err, stderr)
}

// onRun makes every command of the tree call started just before it runs.
func onRun(c *cobra.Command, started func()) {
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			started()
			return run(cmd, args)
		}
	}
	for _, sub := range c.Commands() {
		onRun(sub, started)
	}
}

// exitCode prints err (if it says anything) after the command's name and maps it to the exit
// status scripts see (README "Exit codes").
func exitCode(cmd *cobra.Command, err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	name := "archivist"
	if cmd != nil {
		name = cmd.CommandPath()
	}
	var ee exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	switch {
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", name)
		return 2
	case errors.As(err, new(configError)):
		return exConfig
	case errors.Is(err, journal.ErrDamaged):
		return exitDamaged
	}
	return 1
}

// signalContext is canceled by the first SIGINT or SIGTERM; a second one exits at once,
// abandoning the drain (work in flight stays due in the journal).
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case <-ch:
			cancel()
		case <-ctx.Done():
			return
		}
		<-ch
		fmt.Fprintln(os.Stderr, "archivist: second signal, exiting without draining")
		os.Exit(1)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the version",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "archivist", Version)
			return nil
		},
	}
}
