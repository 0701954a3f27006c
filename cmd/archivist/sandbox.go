package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/sandbox"
)

// sandboxCommand serves the built-in emulator until ctx is canceled, or with "ls" lists
// what a sandbox stored.
func sandboxCommand(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "ls" {
		return sandboxLsCommand(ctx, args[1:])
	}
	fs := newFlagSet("sandbox", "[flags] | ls [flags]")
	listen := fs.String("listen", "127.0.0.1:8787", "address to serve on")
	dir := fs.String("dir", "./var/sandbox", "where received files and conversations are stored")
	memory := fs.Bool("memory", false, "keep Global Relay files and conversations in memory only: bodies are hashed and dropped (a fast sink for benchmarks)")
	credsFile := fs.String("credentials-file", "", "file holding the only Basic credential accepted (default: any)")
	convType := fs.String("conversation-type", "", "the only conversationType accepted (default: any)")
	ttl := fs.Duration("token-ttl", time.Hour, "lifetime of issued tokens")
	maxFile := fs.Int64("max-file-size", 1<<30, "largest file accepted, in bytes")
	var f sandbox.Faults
	fs.Float64Var(&f.FailRate, "fail-rate", 0, "fraction of API requests answered 500/503")
	fs.Float64Var(&f.ResetRate, "reset-rate", 0, "fraction of API requests whose connection is reset")
	fs.Float64Var(&f.Rate429, "rate-429", 0, "fraction of API requests answered 429")
	fs.DurationVar(&f.RetryAfter, "retry-after", time.Second, "Retry-After of 429 answers")
	fs.Float64Var(&f.SlowRate, "slow-rate", 0, "fraction of API requests delayed by --slow")
	fs.DurationVar(&f.Slow, "slow", 0, "delay of slow requests")
	downFor := fs.Duration("down-for", 0, "answer every API request 503 for this long after start")
	fs.BoolVar(&f.TokenToo, "token-faults", false, "inject faults into the token endpoint too")
	verbose := fs.Bool("verbose", false, "log every request, not only refusals and faults")
	sfKeyFile := fs.String("salesforce-public-key", "", "PEM certificate or public key that verifies Salesforce JWT assertions (default: any well-formed RS256 assertion)")
	sfClientID := fs.String("salesforce-client-id", "", "the only Salesforce assertion iss accepted (default: any)")
	gnUser := fs.String("genesys-user", "", "the only Genesys Basic user accepted (default: any)")
	gnPassFile := fs.String("genesys-password-file", "", "file holding the only Genesys password accepted (default: any)")
	tdClientID := fs.String("talkdesk-client-id", "", "the only Talkdesk client id accepted (default: any)")
	tdSecretFile := fs.String("talkdesk-client-secret-file", "", "file holding the only Talkdesk client secret accepted (default: any)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	for name, rate := range map[string]float64{"fail-rate": f.FailRate, "reset-rate": f.ResetRate, "rate-429": f.Rate429, "slow-rate": f.SlowRate} {
		if rate < 0 || rate > 1 {
			return usageError{fmt.Errorf("--%s %v: want a fraction between 0 and 1", name, rate)}
		}
	}
	if *downFor > 0 {
		f.DownUntil = time.Now().Add(*downFor)
	}
	var creds string
	if *credsFile != "" {
		b, err := os.ReadFile(*credsFile)
		if err != nil {
			return fmt.Errorf("credentials file: %w", err)
		}
		if creds = strings.TrimSpace(string(b)); creds == "" {
			return fmt.Errorf("credentials file %s is empty", *credsFile)
		}
	}

	fwd := sandbox.Options{SalesforceClientID: *sfClientID, GenesysUser: *gnUser, TalkdeskClientID: *tdClientID}
	if *sfKeyFile != "" {
		b, err := os.ReadFile(*sfKeyFile)
		if err != nil {
			return fmt.Errorf("salesforce public key: %w", err)
		}
		if fwd.SalesforcePublicKey, err = sandbox.ParseRSAPublicKeyPEM(b); err != nil {
			return fmt.Errorf("salesforce public key %s: %w", *sfKeyFile, err)
		}
	}
	for _, sec := range []struct {
		flag, file string
		dst        *string
	}{{"genesys-password-file", *gnPassFile, &fwd.GenesysPassword}, {"talkdesk-client-secret-file", *tdSecretFile, &fwd.TalkdeskClientSecret}} {
		if sec.file == "" {
			continue
		}
		b, err := os.ReadFile(sec.file)
		if err != nil {
			return fmt.Errorf("--%s: %w", sec.flag, err)
		}
		if *sec.dst = strings.TrimSpace(string(b)); *sec.dst == "" {
			return fmt.Errorf("--%s: %s is empty", sec.flag, sec.file)
		}
	}

	log := logrus.New()
	log.SetOutput(os.Stderr)
	log.SetLevel(logrus.WarnLevel)
	if *verbose {
		log.SetLevel(logrus.DebugLevel)
	}
	s, err := sandbox.New(sandbox.Options{
		Dir: *dir, Memory: *memory, Credentials: creds, ConversationType: *convType, TokenTTL: *ttl,
		MaxFileSize: *maxFile, Faults: f, Logger: log,
		SalesforcePublicKey: fwd.SalesforcePublicKey, SalesforceClientID: fwd.SalesforceClientID,
		GenesysUser: fwd.GenesysUser, GenesysPassword: fwd.GenesysPassword,
		TalkdeskClientID: fwd.TalkdeskClientID, TalkdeskClientSecret: fwd.TalkdeskClientSecret,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(os.Stderr, "sandbox: serving Global Relay, Salesforce, Genesys and Talkdesk emulators on http://%s (files in %s)\n", ln.Addr(), *dir)

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

func sandboxLsCommand(ctx context.Context, args []string) error {
	fs := newFlagSet("sandbox ls", "[--url URL | --dir DIR] [--json]")
	base := fs.String("url", "http://127.0.0.1:8787", "base URL of a running sandbox")
	dir := fs.String("dir", "", "read a sandbox's directory instead of asking a running one")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	urlSet := false
	fs.Visit(func(f *flag.Flag) { urlSet = urlSet || f.Name == "url" })
	if urlSet && *dir != "" {
		return usageError{errors.New("--url and --dir exclude each other")}
	}

	var l sandboxListing
	var convs []sandbox.Conversation
	if *dir != "" {
		files, cs, err := sandbox.Load(*dir)
		if err != nil {
			return err
		}
		l.Files, convs = files, cs
	} else {
		u := strings.TrimRight(*base, "/")
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
	return printListing(os.Stdout, l, *asJSON)
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
