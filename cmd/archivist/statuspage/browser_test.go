package statuspage_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBrowser renders every page in a real headless Chromium (make test-browser installs it
// and sets ARCHIVIST_CHROMIUM): the DOM Chromium built is checked, and a screenshot of each
// page is kept in ARCHIVIST_ARTIFACTS (default: a temporary folder, logged). Skipped when
// ARCHIVIST_CHROMIUM is not set, so `make test` needs no browser.
func TestBrowser(t *testing.T) {
	chromium := os.Getenv("ARCHIVIST_CHROMIUM")
	if chromium == "" {
		t.Skip("ARCHIVIST_CHROMIUM is not set: run make test-browser")
	}
	artifacts := os.Getenv("ARCHIVIST_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, nil)
	pages := []struct {
		name, path string
		wants      []string
	}{
		{"overview", "/", []string{"Archive status", "Discovered", "Archived per hour", "Download CSV"}},
		{"period", "/?from=2026-03-07&to=2026-03-10", []string{"from 2026-03-07 to 2026-03-10"}},
		{"held", "/held", []string{"Held files", "latest.pdf", "put the file itself in the folder"}},
		{"search", "/search?q=" + url.QueryEscape("confirmation-0001"), []string{"2026/03/confirmation-0001.pdf", "copy/confirmation-0001.pdf"}},
		{"history", fmt.Sprintf("/file/%d", f.archive.ID), []string{"History", "req-7f3a", "service-cloud", f.archive.SHA256}},
		{"daily-reconciliation", "/reports/2026-03-09", []string{"Reconciliation of 2026-03-09", "NOT accounted for", "trades:lost.pdf"}},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			dom := chrome(t, chromium, "--dump-dom", f.srv.URL+p.path)
			for _, w := range p.wants {
				if !strings.Contains(dom, w) {
					t.Errorf("the page Chromium rendered has no %q", w)
				}
			}
			shot := filepath.Join(artifacts, "statuspage-"+p.name+".png")
			chrome(t, chromium, "--screenshot="+shot, "--window-size=1280,1400", f.srv.URL+p.path)
			if fi, err := os.Stat(shot); err != nil || fi.Size() < 5000 {
				t.Errorf("screenshot %s: %v", shot, err)
			}
		})
	}
	t.Logf("screenshots in %s", artifacts)
}

// chrome runs headless Chromium once with args and returns its standard output. The flags
// keep it from reaching any network beyond the page (this machine has none) and from
// sandboxing as root.
func chrome(t *testing.T, chromium string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, chromium, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}
