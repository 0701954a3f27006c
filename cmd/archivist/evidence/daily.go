package evidence

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// DailyReport is the day's message reconciliation report, Merge1-style: what was collected,
// archived, duplicate, held and unprocessed per watch and destination, and what the
// reconciliation that closed the day found on disk but not in the archive.
type DailyReport struct {
	Format       string               `json:"format"` // "archivist-daily-reconciliation/1"
	Day          string               `json:"day"`    // YYYY-MM-DD in Timezone
	Timezone     string               `json:"timezone"`
	From         time.Time            `json:"from"`
	To           time.Time            `json:"to"`
	Generated    time.Time            `json:"generated"`
	Total        Counts               `json:"total"`
	Watches      map[string]*Counts   `json:"watches"`
	Destinations map[string]*Forwards `json:"destinations"`
	// Reconciliation is the one run when the report was made.
	Reconciliation struct {
		Time        time.Time `json:"time"`
		OnDisk      int       `json:"onDisk"`
		Archived    int       `json:"archived"`
		Held        int       `json:"held"`
		Pending     int       `json:"pending"`
		Unexplained int       `json:"unexplained"`
		Examples    []string  `json:"examples,omitempty"` // the first unexplained files, watch:path
		Errors      []string  `json:"errors,omitempty"`
	} `json:"reconciliation"`
	ChainHead    string `json:"chainHead"`
	ChainEntries uint64 `json:"chainEntries"`
	// UnresolvedParticipants is how many chat participants were archived, up to the report,
	// under a fallback address (neither the export nor the identity directory knew theirs).
	UnresolvedParticipants int `json:"unresolvedParticipants"`
}

// DailyFormat names the daily report's format and version.
const DailyFormat = "archivist-daily-reconciliation/1"

// DailyName is the file name of day's report.
func DailyName(day string) string { return "reconciliation-" + day + ".json" }

// WriteDaily writes rep to dir as DailyName(rep.Day), atomically (a temporary file renamed
// into place), and, with a key, its detached signature next to it (.sig). It returns the
// report's path.
func WriteDaily(dir string, rep *DailyReport, key ed25519.PrivateKey) (string, error) {
	rep.Format = DailyFormat
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return "", err
	}
	b = append(b, '\n')
	path := filepath.Join(dir, DailyName(rep.Day))
	if err := writeAtomic(path, b, 0o644); err != nil {
		return "", err
	}
	if key == nil {
		return path, nil
	}
	sum, n, err := Hash(strings.NewReader(string(b)))
	if err != nil {
		return "", err
	}
	counts := map[string]int64{"discovered": rep.Total.Discovered, "archived": rep.Total.Archived, "duplicates": rep.Total.Duplicates,
		"held": rep.Total.Held, "pending": rep.Total.Pending, "unexplained": int64(rep.Reconciliation.Unexplained)}
	sig, err := Sign(key, Statement{Kind: "reconciliation-report", File: filepath.Base(path), SHA256: sum, Bytes: n,
		Since: rep.From, Until: rep.To, SignedAt: rep.Generated, ChainHead: rep.ChainHead, Entries: rep.ChainEntries, Counts: counts})
	if err != nil {
		return "", err
	}
	return path, writeAtomic(path+".sig", sig, 0o644)
}

func writeAtomic(path string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	err = errors.Join(err, f.Chmod(mode), f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// DailyFile is one report in a folder.
type DailyFile struct {
	Day    string
	Name   string
	Signed bool
}

// ListDaily lists the daily reports in dir, newest first.
func ListDaily(dir string) ([]DailyFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name()] = true
	}
	var out []DailyFile
	for _, e := range entries {
		day, ok := strings.CutPrefix(e.Name(), "reconciliation-")
		if day, ok = strings.CutSuffix(day, ".json"); !ok || !e.Type().IsRegular() {
			continue
		}
		if _, err := time.Parse("2006-01-02", day); err != nil {
			continue
		}
		out = append(out, DailyFile{Day: day, Name: e.Name(), Signed: have[e.Name()+".sig"]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Day > out[j].Day })
	return out, nil
}

// ReadDaily reads day's report from dir.
func ReadDaily(dir, day string) (*DailyReport, error) {
	if _, err := time.Parse("2006-01-02", day); err != nil {
		return nil, fmt.Errorf("%q is not a day", day)
	}
	b, err := os.ReadFile(filepath.Join(dir, DailyName(day)))
	if err != nil {
		return nil, err
	}
	var rep DailyReport
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", DailyName(day), err)
	}
	return &rep, nil
}
