package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/archivist-project/archivist/cmd/archivist/control"
	"github.com/archivist-project/archivist/config"
	"github.com/archivist-project/archivist/journal"
)

// configFlag adds the --config flag every command shares.
func configFlag(fs *pflag.FlagSet) *string {
	return fs.String("config", defaultConfig(os.Getenv), "configuration `file` (default: $ARCHIVIST_CONFIG, else /etc/archivist/archivist.yml)")
}

// defaultConfig is the configuration file when --config is not given: $ARCHIVIST_CONFIG
// (make run's quickstart prints it), else the packaged /etc/archivist/archivist.yml.
func defaultConfig(getenv func(string) string) string {
	if p := getenv("ARCHIVIST_CONFIG"); p != "" {
		return p
	}
	return "/etc/archivist/archivist.yml"
}

// controlSocket is where the daemon serves its control API: the configured path, else
// /run/archivist/control.sock when that runtime directory exists (systemd's
// RuntimeDirectory=archivist), else control.sock next to the journal.
func controlSocket(cfg *config.Config) string {
	if cfg.Control.Socket != "" {
		return cfg.Control.Socket
	}
	if dir := os.Getenv("RUNTIME_DIRECTORY"); dir != "" {
		return filepath.Join(dir, "control.sock")
	}
	if fi, err := os.Stat("/run/archivist"); err == nil && fi.IsDir() {
		return "/run/archivist/control.sock"
	}
	return filepath.Join(filepath.Dir(cfg.Journal), "control.sock")
}

// timeoutFlag adds the --timeout flag of the commands that talk to the daemon.
func timeoutFlag(fs *pflag.FlagSet) *time.Duration {
	return fs.Duration("timeout", 10*time.Second, "give up when the daemon sends nothing for this `long` (at least 1s)")
}

// connect returns the API of the running daemon, or, when none listens, a Service working on
// the journal directly (read-only unless write). A daemon that sends nothing for timeout fails
// the call with "the daemon at SOCKET does not answer". Read-only commands load the config
// without its secret files, so that looking needs no credentials. close releases what it opened.
func connect(cfgPath string, write bool, timeout time.Duration) (api control.API, cfg *config.Config, close func(), err error) {
	if timeout < time.Second {
		return nil, nil, nil, usageError{fmt.Errorf("--timeout %s: must be at least 1s", timeout)}
	}
	load := config.Load
	if !write {
		load = config.LoadWithoutSecrets
	}
	cfg, err = load(cfgPath)
	if err != nil {
		return nil, nil, nil, err
	}
	if c, err := control.Dial(controlSocket(cfg), timeout); err == nil {
		return c, cfg, func() {}, nil
	}
	j, err := journal.Open(cfg.Journal, journal.Options{ReadOnly: !write})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("the daemon does not answer on %s, and %w", controlSocket(cfg), err)
	}
	svc := &control.Service{J: j}
	svc.SetWatches(watchInfos(cfg))
	return svc, cfg, func() { j.Close() }, nil
}

func watchInfos(cfg *config.Config) []control.WatchInfo {
	out := make([]control.WatchInfo, 0, len(cfg.Watches))
	for _, w := range cfg.Watches {
		out = append(out, control.WatchInfo{Name: w.Name, Path: w.Path, Mode: w.Mode})
	}
	return out
}
