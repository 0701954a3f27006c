package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/archivist-project/archivist/archive/sandbox"
)

// sandboxFlags are the sandbox's flags, beyond its faults.
type sandboxFlags struct {
	listen, dir, credsFile, convType, sfKeyFile, sfClientID, gnUser, gnPassFile, tdClientID, tdSecretFile string
	memory, unhashed, verbose                                                                             bool
	ttl, downFor                                                                                          time.Duration
	maxFile                                                                                               int64
}

// sandboxCommand serves the built-in emulator until ctx is canceled; its subcommand ls lists
// what a sandbox stored.
func sandboxCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "sandbox [flags] | ls [flags]",
		Short: "serve the built-in emulator of the remote APIs (or list what it stored)",
		Args:  noArgs,
	}
	var sf sandboxFlags
	var f sandbox.Faults
	fs := c.Flags()
	fs.StringVar(&sf.listen, "listen", "127.0.0.1:8787", "address to serve on")
	fs.StringVar(&sf.dir, "dir", "./var/sandbox", "where received files and conversations are stored")
	fs.BoolVar(&sf.memory, "memory", false, "keep Global Relay files and conversations in memory only: bodies are hashed and dropped (a fast sink for benchmarks)")
	fs.BoolVar(&sf.unhashed, "unhashed", false, "with --memory: read bodies and drop them without hashing them (the fastest sink, for measuring a client)")
	fs.StringVar(&sf.credsFile, "credentials-file", "", "file holding the only Basic credential accepted (default: any)")
	fs.StringVar(&sf.convType, "conversation-type", "", "the only conversationType accepted (default: any)")
	fs.DurationVar(&sf.ttl, "token-ttl", time.Hour, "lifetime of issued tokens")
	fs.Int64Var(&sf.maxFile, "max-file-size", 1<<30, "largest file accepted, in bytes")
	fs.Float64Var(&f.FailRate, "fail-rate", 0, "fraction of API requests answered 500/503")
	fs.Float64Var(&f.ResetRate, "reset-rate", 0, "fraction of API requests whose connection is reset")
	fs.Float64Var(&f.Rate429, "rate-429", 0, "fraction of API requests answered 429")
	fs.DurationVar(&f.RetryAfter, "retry-after", time.Second, "Retry-After of 429 answers")
	fs.Float64Var(&f.SlowRate, "slow-rate", 0, "fraction of API requests delayed by --slow")
	fs.DurationVar(&f.Slow, "slow", 0, "delay of slow requests")
	fs.DurationVar(&sf.downFor, "down-for", 0, "answer every API request 503 for this long after start")
	fs.BoolVar(&f.TokenToo, "token-faults", false, "inject faults into the token endpoint too")
	fs.BoolVar(&sf.verbose, "verbose", false, "log every request, not only refusals and faults")
	fs.StringVar(&sf.sfKeyFile, "salesforce-public-key", "", "PEM certificate or public key that verifies Salesforce JWT assertions (default: any well-formed RS256 assertion)")
	fs.StringVar(&sf.sfClientID, "salesforce-client-id", "", "the only Salesforce assertion iss accepted (default: any)")
	fs.StringVar(&sf.gnUser, "genesys-user", "", "the only Genesys Basic user accepted (default: any)")
	fs.StringVar(&sf.gnPassFile, "genesys-password-file", "", "file holding the only Genesys password accepted (default: any)")
	fs.StringVar(&sf.tdClientID, "talkdesk-client-id", "", "the only Talkdesk client id accepted (default: any)")
	fs.StringVar(&sf.tdSecretFile, "talkdesk-client-secret-file", "", "file holding the only Talkdesk client secret accepted (default: any)")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		opts, err := sandboxOptions(sf, f)
		if err != nil {
			return err
		}
		return serveSandbox(cmd.Context(), sf.listen, opts)
	}
	c.AddCommand(sandboxLsCommand())
	return c
}

// sandboxOptions checks the flags and reads the files they name.
func sandboxOptions(sf sandboxFlags, f sandbox.Faults) (sandbox.Options, error) {
	for name, rate := range map[string]float64{"fail-rate": f.FailRate, "reset-rate": f.ResetRate, "rate-429": f.Rate429, "slow-rate": f.SlowRate} {
		if rate < 0 || rate > 1 {
			return sandbox.Options{}, usageError{fmt.Errorf("--%s %v: want a fraction between 0 and 1", name, rate)}
		}
	}
	if sf.unhashed && !sf.memory {
		return sandbox.Options{}, usageError{errors.New("--unhashed needs --memory: a store on disk hashes what it writes")}
	}
	if sf.downFor > 0 {
		f.DownUntil = time.Now().Add(sf.downFor)
	}
	log := logrus.New()
	log.SetOutput(os.Stderr)
	log.SetLevel(logrus.WarnLevel)
	if sf.verbose {
		log.SetLevel(logrus.DebugLevel)
	}
	o := sandbox.Options{Dir: sf.dir, Memory: sf.memory, Unhashed: sf.unhashed, ConversationType: sf.convType, TokenTTL: sf.ttl, MaxFileSize: sf.maxFile,
		Faults: f, Logger: log, SalesforceClientID: sf.sfClientID, GenesysUser: sf.gnUser, TalkdeskClientID: sf.tdClientID}
	if sf.sfKeyFile != "" {
		b, err := os.ReadFile(sf.sfKeyFile)
		if err != nil {
			return o, fmt.Errorf("salesforce public key: %w", err)
		}
		if o.SalesforcePublicKey, err = sandbox.ParseRSAPublicKeyPEM(b); err != nil {
			return o, fmt.Errorf("salesforce public key %s: %w", sf.sfKeyFile, err)
		}
	}
	for _, sec := range []struct {
		flag, file string
		dst        *string
	}{{"credentials-file", sf.credsFile, &o.Credentials}, {"genesys-password-file", sf.gnPassFile, &o.GenesysPassword},
		{"talkdesk-client-secret-file", sf.tdSecretFile, &o.TalkdeskClientSecret}} {
		if sec.file == "" {
			continue
		}
		b, err := os.ReadFile(sec.file)
		if err != nil {
			return o, fmt.Errorf("--%s: %w", sec.flag, err)
		}
		if *sec.dst = strings.TrimSpace(string(b)); *sec.dst == "" {
			return o, fmt.Errorf("--%s: %s is empty", sec.flag, sec.file)
		}
	}
	return o, nil
}

// serveSandbox serves a sandbox made of opts on listen until ctx ends.
func serveSandbox(ctx context.Context, listen string, opts sandbox.Options) error {
	s, err := sandbox.New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(os.Stderr, "sandbox: serving Global Relay, Salesforce, Genesys and Talkdesk emulators on http://%s (files in %s)\n", ln.Addr(), opts.Dir)

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// sandboxListing is what `sandbox ls --json` prints.
type sandboxListing struct {
	Files         []sandbox.File `json:"files"`
	Conversations int            `json:"conversations"`
	Events        int            `json:"events"`
}

func sandboxLsCommand() *cobra.Command {
	c := &cobra.Command{Use: "ls [--url URL | --dir DIR] [--json]", Short: "list what a sandbox stored", Args: noArgs}
	base := c.Flags().String("url", "http://127.0.0.1:8787", "base URL of a running sandbox")
	dir := c.Flags().String("dir", "", "read a sandbox's directory instead of asking a running one")
	asJSON := c.Flags().Bool("json", false, "print JSON")
	c.MarkFlagsMutuallyExclusive("url", "dir")
	c.RunE = func(cmd *cobra.Command, args []string) error { return sandboxLs(cmd.Context(), *base, *dir, *asJSON) }
	return c
}

func sandboxLs(ctx context.Context, base, dir string, asJSON bool) error {
	var l sandboxListing
	var convs []sandbox.Conversation
	if dir != "" {
		files, cs, err := sandbox.Load(dir)
		if err != nil {
			return err
		}
		l.Files, convs = files, cs
	} else {
		u := strings.TrimRight(base, "/")
		if err := getJSON(ctx, u+"/sandbox/files", &l.Files); err != nil {
			return err
		}
		if err := getJSON(ctx, u+"/sandbox/conversations", &convs); err != nil {
			return err
		}
	}
	l.Conversations = len(convs)
	for _, c := range convs {
		l.Events += c.Events
	}
	if l.Files == nil {
		l.Files = []sandbox.File{}
	}
	return printListing(os.Stdout, l, asJSON)
}

func printListing(w io.Writer, l sandboxListing, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(l)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tSIZE\tCONTENT TYPE\tSHA256\tPUTS")
	for _, f := range l.Files {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\n", f.Key, f.Size, f.ContentType, f.SHA256, f.Puts)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d files, %d conversations, %d events\n", len(l.Files), l.Conversations, l.Events)
	return err
}

func getJSON(ctx context.Context, url string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("get %s: %w", url, err)
	}
	return nil
}
