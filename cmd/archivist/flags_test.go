package main

import (
	"flag"
	"io"
	"slices"
	"testing"
)

// Flags after positional arguments are parsed, not taken for arguments ("show 4 --config X").
func TestFlagsAnywhere(t *testing.T) {
	for _, c := range []struct {
		args []string
		cfg  string
		json bool
		pos  []string
	}{
		{[]string{"4", "--config", "x.yml"}, "x.yml", false, []string{"4"}},
		{[]string{"--json", "4", "--config=x.yml"}, "x.yml", true, []string{"4"}},
		{[]string{"a", "--json", "b"}, "", true, []string{"a", "b"}},
		{[]string{"--config", "x.yml", "--", "--json"}, "x.yml", false, []string{"--json"}},
		{[]string{"-config", "x.yml", "r.csv", "r.sig"}, "x.yml", false, []string{"r.csv", "r.sig"}},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		cfg := fs.String("config", "", "")
		asJSON := fs.Bool("json", false, "")
		if err := parseFlags(fs, c.args); err != nil {
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		if *cfg != c.cfg || *asJSON != c.json || !slices.Equal(fs.Args(), c.pos) {
			t.Errorf("%v: config %q json %v args %q", c.args, *cfg, *asJSON, fs.Args())
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := parseFlags(fs, []string{"4", "--nope"}); err == nil {
		t.Error("an unknown flag after an argument was accepted")
	}
}
