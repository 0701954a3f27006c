package main

import (
	"slices"
	"testing"
)

// Flags after positional arguments are parsed, not taken for arguments ("show 4 --config X"),
// and the single-dash long flags of earlier versions ("-config X") still work.
func TestFlagsAnywhere(t *testing.T) {
	t.Setenv("ARCHIVIST_CONFIG", "")
	for _, c := range []struct {
		args []string
		cfg  string
		json bool
		pos  []string
	}{
		{[]string{"show", "4", "--config", "x.yml"}, "x.yml", false, []string{"4"}},
		{[]string{"show", "--json", "4", "--config=x.yml"}, "x.yml", true, []string{"4"}},
		{[]string{"show", "a", "--json", "b"}, "", true, []string{"a", "b"}},
		{[]string{"show", "--config", "x.yml", "--", "--json"}, "x.yml", false, []string{"--json"}},
		{[]string{"verify-report", "-config", "x.yml", "r.csv", "r.sig"}, "", false, []string{"r.csv", "r.sig"}},
		{[]string{"status", "-config", "x.yml", "-json"}, "x.yml", true, nil},
		{[]string{"journal", "--config", "x.yml", "check"}, "x.yml", false, nil},
		{[]string{"identities", "-config=x.yml", "unresolved", "-json"}, "x.yml", true, nil},
	} {
		root := rootCommand()
		cmd, flags, err := root.Find(doubleDashLongFlags(root, c.args))
		if err != nil {
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		if err := cmd.ParseFlags(flags); err != nil {
			if c.args[0] == "verify-report" { // it has no --config: refused, not taken for arguments
				continue
			}
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		if c.args[0] == "verify-report" {
			t.Errorf("%v: a flag the command does not have was accepted", c.args)
			continue
		}
		cfg, _ := cmd.Flags().GetString("config")
		asJSON, _ := cmd.Flags().GetBool("json")
		if c.cfg == "" {
			c.cfg = "/etc/archivist/archivist.yml"
		}
		if cfg != c.cfg || asJSON != c.json || !slices.Equal(cmd.Flags().Args(), c.pos) {
			t.Errorf("%v: command %q config %q json %v args %q", c.args, cmd.CommandPath(), cfg, asJSON, cmd.Flags().Args())
		}
	}
}

// A flag's value is never rewritten, even when it looks like a single-dash flag.
func TestDoubleDashLongFlagsLeavesValues(t *testing.T) {
	root := rootCommand()
	got := doubleDashLongFlags(root, []string{"report", "--since", "-json", "-config", "x", "--", "-json"})
	want := []string{"report", "--since", "-json", "--config", "x", "--", "-json"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
