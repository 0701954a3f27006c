package main

// The command tree's frame: the root command, argument checks, compatibility with the
// single-dash flags of earlier versions, and the man pages.

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"
)

// rootCommand is `archivist`: every subcommand, --version, `help` and `completion` (bash,
// zsh, fish, powershell), cobra's own.
func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "archivist",
		Short: "archive every complete file of the watched folders to Global Relay",
		Long: "archivist watches drop folders and archives every complete file to Global Relay (and the configured\n" +
			"forwarding destinations), with a journal of every file and step. `archivist run` is the daemon; the\n" +
			"other commands look at it and steer it over its control socket, or work on the journal directly.",
		Version:       Version,
		SilenceErrors: true,
		SilenceUsage:  true,
		// Without a command: the help, on standard error, and wrong usage.
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(cmd.ErrOrStderr())
			if err := cmd.Help(); err != nil {
				return err
			}
			return usageError{errors.New("name a command")}
		},
	}
	root.SetVersionTemplate("archivist {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(commands()...)
	root.InitDefaultCompletionCmd()
	if c, _, err := root.Find([]string{"completion"}); err == nil && c != root {
		c.Args, c.RunE = cobra.ArbitraryArgs, wantSubcommand("'completion bash|zsh|fish|powershell'")
	}
	return root
}

// noArgs refuses positional arguments (wrong usage).
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", args[0])}
	}
	return nil
}

// groupCommand is a command that only holds subcommands (journal, identities): without one,
// or with an unknown one, it is wrong usage, with want saying what is expected.
func groupCommand(use, short, want string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: cobra.ArbitraryArgs, RunE: wantSubcommand(want)}
	c.AddCommand(subs...)
	return c
}

// wantSubcommand is the run of a command called without one of its subcommands ("help", as
// earlier versions took it, shows the command's help).
func wantSubcommand(want string) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 1 && args[0] == "help" {
			return cmd.Help()
		}
		if len(args) > 0 {
			return usageError{fmt.Errorf("unknown command %q: want %s", args[0], want)}
		}
		return usageError{fmt.Errorf("want %s", want)}
	}
}

// doubleDashLongFlags rewrites the single-dash long flags that earlier versions (Go's flag
// package) accepted, "-config FILE", to "--config FILE", which is what cobra parses ("-config"
// would be the shorthands c, o, n...). Only the names of flags some command defines are
// rewritten, never a flag's value, and nothing after "--".
func doubleDashLongFlags(root *cobra.Command, args []string) []string {
	takesValue := map[string]bool{"help": false, "version": false}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if _, ok := takesValue[f.Name]; !ok {
				takesValue[f.Name] = f.NoOptDefVal == ""
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if _, ok := takesValue[name]; ok {
				a = "-" + a
			}
		}
		out = append(out, a)
		if name, ok := strings.CutPrefix(a, "--"); ok && !strings.Contains(name, "=") && takesValue[name] && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
	}
	return out
}

// manCommand is `archivist man DIR` (hidden; `make man` runs it): one man page per command,
// written into DIR, from the same command tree as the help.
func manCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "man DIR",
		Short:  "write the man pages (archivist.1, archivist-status.1, ...) into DIR",
		Hidden: true,
		Args:   exactArgs(1, "name the folder the man pages go to"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return fmt.Errorf("man pages: %w", err)
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true
			header := &doc.GenManHeader{Title: "ARCHIVIST", Section: "1", Source: "archivist " + Version, Manual: "archivist manual"}
			if err := doc.GenManTree(root, header, args[0]); err != nil {
				return fmt.Errorf("man pages in %s: %w", args[0], err)
			}
			return nil
		},
	}
}

// exactArgs wants n positional arguments; otherwise wrong usage, saying want.
func exactArgs(n int, want string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{errors.New(want)}
		}
		return nil
	}
}
