package main

// Signed evidence for auditors: archivist keygen, report --sign and verify-report.

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/archivist-project/archivist/cmd/archivist/evidence"
)

func keygenCommand() *cobra.Command {
	c := &cobra.Command{Use: "keygen --out FILE", Short: "make an Ed25519 key pair for signing reports", Args: noArgs}
	out := c.Flags().String("out", "", "write the Ed25519 private key here (mode 0600) and the public key to FILE.pub")
	c.RunE = func(*cobra.Command, []string) error {
		if *out == "" {
			return usageError{errors.New("keygen needs --out FILE and no arguments")}
		}
		return keygen(*out)
	}
	return c
}

func keygen(out string) error {
	pub, err := evidence.GenerateKey(out)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	fmt.Printf("private key %s (keep it where only the signer can read it)\npublic key  %s.pub (give it to whoever verifies)\nkey id      %s\n",
		out, out, evidence.KeyID(pub))
	return nil
}

func verifyReportCommand() *cobra.Command {
	const want = "verify-report needs REPORT, SIGNATURE and --public-key FILE"
	c := &cobra.Command{
		Use:   "verify-report REPORT SIGNATURE --public-key FILE",
		Short: "check a signed report on any machine, without the journal",
		Args:  exactArgs(2, want),
	}
	pubPath := c.Flags().String("public-key", "", "the signer's public key (the .pub file of archivist keygen)")
	c.RunE = func(_ *cobra.Command, args []string) error {
		if *pubPath == "" {
			return usageError{errors.New(want)}
		}
		return verifyReport(*pubPath, args[0], args[1])
	}
	return c
}

func verifyReport(pubPath, reportPath, sigPath string) error {
	pub, err := evidence.LoadPublicKey(pubPath)
	if err != nil {
		return err
	}
	report, err := os.Open(reportPath)
	if err != nil {
		return err
	}
	defer report.Close()
	sig, err := os.ReadFile(sigPath)
	if err != nil {
		return err
	}
	st, err := evidence.Verify(pub, report, sig)
	if err != nil {
		return fmt.Errorf("%s: %w", reportPath, err)
	}
	fmt.Printf("OK: %s is the %s signed by key %s at %s\n", reportPath, st.Kind, st.KeyID, st.SignedAt.Format(time.RFC3339))
	fmt.Printf("period   %s to %s\njournal  audit chain head %s (%d entries)\nsha256   %s (%d bytes)\ncounts  ",
		dateOrOpen(st.Since), dateOrOpen(st.Until), st.ChainHead, st.Entries, st.SHA256, st.Bytes)
	for _, k := range slices.Sorted(maps.Keys(st.Counts)) {
		fmt.Printf(" %s %d", k, st.Counts[k])
	}
	fmt.Println()
	return nil
}

func dateOrOpen(t time.Time) string {
	if t.IsZero() {
		return "(open)"
	}
	return t.Format(time.RFC3339)
}

// signReport writes the detached signature of the report at path to sigPath. The counts are
// read back from the report itself (its state column), so they are exactly what it says.
func signReport(keyPath, path, sigPath, format string, q reportPeriod, head chainHead) error {
	priv, err := evidence.LoadPrivateKey(keyPath)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sum, n, err := evidence.Hash(f)
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	counts, err := countStates(f, format)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	sig, err := evidence.Sign(priv, evidence.Statement{Kind: "custody-report", File: filepath.Base(path), SHA256: sum, Bytes: n,
		Since: q.since, Until: q.until, SignedAt: time.Now().UTC(), ChainHead: head.hash, Entries: head.entries, Counts: counts})
	if err != nil {
		return err
	}
	return os.WriteFile(sigPath, sig, 0o644)
}

type reportPeriod struct{ since, until time.Time }

// chainHead is the newest entry of the journal's audit chain.
type chainHead struct {
	hash    string
	entries uint64
}

// countStates counts the rows of a custody report by their state, plus "files" for all.
func countStates(r io.Reader, format string) (map[string]int64, error) {
	counts := map[string]int64{}
	if format == "json" { // one array of objects, read one object at a time
		dec := json.NewDecoder(r)
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		for dec.More() {
			var row struct {
				State string `json:"state"`
			}
			if err := dec.Decode(&row); err != nil {
				return nil, err
			}
			counts[row.State]++
			counts["files"]++
		}
		return counts, nil
	}
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, err
	}
	col := -1
	for i, h := range header {
		if h == "state" {
			col = i
		}
	}
	if col < 0 {
		return nil, errors.New("no state column")
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return counts, nil
		}
		if err != nil {
			return nil, err
		}
		counts[rec[col]]++
		counts["files"]++
	}
}
