// Command archivist watches drop folders and archives every complete file to Global Relay.
//
// main builds the command named by the first argument, runs it with a context that the first
// SIGINT/SIGTERM cancels (a second one aborts at once), and maps its error to an exit code.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/archivist-project/archivist/journal"
)

// Version is stamped by the Makefile with -ldflags "-X main.Version=...".
var Version = "dev"

// command is one subcommand: it parses its own flags from args.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"run", "watch the configured folders and archive every complete file", runCommand},
		{"check-config", "check a configuration without starting anything (exit 78 if it would not start)", checkConfigCommand},
		{"status", "watches, queue counts, destination health, last reconciliation", statusCommand},
		{"queue", "list files not archived yet (or --state held), like mailq", queueCommand},
		{"show", "one file's record and whole history", showCommand},
		{"retry", "put a held file (or --all-held) back to work", retryCommand},
		{"reconcile", "compare disk with the journal now; requeue what is missing", reconcileCommand},
		{"report", "chain-of-custody report of files discovered in a period (CSV or JSON)", reportCommand},
		{"identities", "list chat participants archived under a fallback address (unresolved [--csv])", identitiesCommand},
		{"journal", "check the journal (check [--full]), rebuild a damaged one (rebuild), remove old audit detail (compact)", journalCommand},
		{"keygen", "make an Ed25519 key pair for signing reports", keygenCommand},
		{"verify", "check that the journal's audit trail was not modified (names the first break)", verifyCommand},
		{"verify-report", "check a signed report on any machine, without the journal", verifyReportCommand},
		{"sandbox", "serve the built-in emulator of the remote APIs (or list what it stored)", sandboxCommand},
		{"version", "print the version", versionCommand},
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
	os.Exit(realMain(os.Args[1:], os.Stderr))
}

func realMain(args []string, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		ctx, stop := signalContext()
		defer stop()
		err := c.run(ctx, args[1:])
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, new(exitError)):
			var ee exitError
			errors.As(err, &ee)
			if ee.err != nil && ee.err.Error() != "" {
				fmt.Fprintf(stderr, "archivist %s: %v\n", c.name, err)
			}
			return ee.code
		case errors.As(err, new(usageError)):
			fmt.Fprintf(stderr, "archivist %s: %v\n", c.name, err)
			return 2
		case errors.As(err, new(configError)):
			fmt.Fprintf(stderr, "archivist %s: %v\n", c.name, err)
			return exConfig
		case errors.Is(err, journal.ErrDamaged):
			fmt.Fprintf(stderr, "archivist %s: %v\n", c.name, err)
			return exitDamaged
		default:
			fmt.Fprintf(stderr, "archivist %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "archivist: unknown command %q\n\n", args[0])
	printUsage(stderr)
	return 2
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: archivist COMMAND [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'archivist COMMAND --help' for a command's flags.")
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

// newFlagSet returns a flag set that reports errors instead of exiting, with a usage line.
func newFlagSet(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("archivist "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: archivist %s %s\n\nflags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, turning flag errors into usage errors. Flags may come before,
// between or after the positional arguments ("show 4 --config X"), as in most CLIs; "--"
// ends the flags.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(flagsFirst(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

// flagsFirst reorders args so that the flags come before the positional arguments, which is
// the only order package flag parses. A flag's value stays with it: "--config X" is two
// arguments unless the flag is boolean or written "--config=X".
func flagsFirst(fs *flag.FlagSet, args []string) []string {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			positional = append(positional, args[i+1:]...)
			i = len(args)
		case len(a) > 1 && a[0] == '-':
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if strings.Contains(name, "=") {
				continue
			}
			if f := fs.Lookup(name); f != nil && !isBoolFlag(f) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		default:
			positional = append(positional, a)
		}
	}
	return append(append(flags, "--"), positional...)
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func versionCommand(ctx context.Context, args []string) error {
	fs := newFlagSet("version", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Println("archivist", Version)
	return nil
}
