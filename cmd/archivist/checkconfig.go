package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/archivist-project/archivist/archive/globalrelay"
	"github.com/archivist-project/archivist/cmd/archivist/statuspage"
	"github.com/archivist-project/archivist/config"
)

// checkConfigCommand is `archivist check-config` (postfix check, nginx -t): it loads and
// checks everything run would, without starting anything or touching the journal, and exits
// 0 when run would start with this file, 78 (EX_CONFIG) with every problem otherwise.
// ExecReload runs it before the SIGHUP, so a bad reload fails visibly.
func checkConfigCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "check-config",
		Short: "check a configuration without starting anything (exit 78 if it would not start)",
		Args:  noArgs,
	}
	cfgPath := configFlag(c.Flags())
	c.RunE = func(*cobra.Command, []string) error { return checkConfigFile(*cfgPath) }
	return c
}

func checkConfigFile(cfgPath string) error {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return configError{err}
	}
	if err := checkConfig(cfg); err != nil {
		return configError{fmt.Errorf("config %s: %w", cfgPath, err)}
	}
	for _, w := range cfg.Warnings {
		fmt.Printf("warning: %s\n", w)
	}
	fmt.Printf("%s: OK (%d watches, %d destinations)\n", cfgPath, len(cfg.Watches), len(cfg.Destinations))
	return nil
}

// checkConfig checks what config.Load cannot: that the clients accept their settings, that
// the status page's users file and certificate load, that the identity directory parses, and that the journal, if there is one,
// is a file.
func checkConfig(cfg *config.Config) error {
	var errs []error
	if _, err := newGlobalRelay(cfg); err != nil {
		errs = append(errs, err)
	}
	if _, err := newForwarders(cfg); err != nil {
		errs = append(errs, err)
	}
	if cfg.StatusPage.Listen != "" {
		if err := statuspage.Check(cfg.StatusPage); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := loadIdentities(cfg); err != nil {
		errs = append(errs, err)
	}
	if fi, err := os.Stat(cfg.Journal); err == nil && !fi.Mode().IsRegular() {
		errs = append(errs, fmt.Errorf("journal: %s is not a regular file", cfg.Journal))
	}
	return errors.Join(errs...)
}

// newGlobalRelay is the Global Relay client of cfg.
func newGlobalRelay(cfg *config.Config) (*globalrelay.Client, error) {
	gr := cfg.GlobalRelay
	client, err := globalrelay.New(globalrelay.Options{
		BaseURL:     gr.URL,
		TokenURL:    gr.TokenURL,
		Credentials: gr.Credentials.Reveal(),
		HTTPClient:  globalrelay.NewHTTPClient(gr.InsecureSkipVerify, gr.ResponseTimeout.Std(), cfg.Workers+2),
	})
	if err != nil {
		return nil, fmt.Errorf("globalrelay: %w", err)
	}
	return client, nil
}
