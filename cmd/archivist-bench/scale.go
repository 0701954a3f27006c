package main

// The scale workload (make bench-scale): a daemon that has run for years on a watch with
// after: keep. The tree and the journal hold --scale-files files, all archived. Measured from
// outside: start-up, the start-up scan (a full rescan), a periodic full rescan, idle memory,
// the time `archivist status` takes to answer, and the journal's bytes per file.

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// scaleScanInterval is the periodic scan of the scale workload's watch: short enough that a
// second full scan follows the start-up scan while the bench waits.
const scaleScanInterval = 20 * time.Second

func (b *bench) scale() ([]row, error) {
	o := b.opts
	dir, srv, cfg, cleanup, err := b.setup("scale", o.settle)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if err := rewriteConfig(cfg, "scan_interval: 1h", "scan_interval: "+scaleScanInterval.String(), "level: info", "level: debug"); err != nil {
		return nil, err
	}
	inbox := filepath.Join(dir, "inbox")
	db := filepath.Join(dir, "state", "journal.db")
	t := time.Now()
	if err := writeSmallFiles(inbox, o.scaleFiles, 64, 1000); err != nil {
		return nil, err
	}
	b.log("scale: wrote %d files in %s", o.scaleFiles, since(t))
	t = time.Now()
	n, err := journalFromTree(db, inbox)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(db)
	if err != nil {
		return nil, err
	}
	b.log("scale: recorded %d files as archived in %s; journal %s", n, since(t), size(fi.Size()))
	quiesce()

	d, err := startDaemon(b.binary, cfg)
	if err != nil {
		return nil, err
	}
	defer d.kill()
	started, err := d.await("archivist started", 2*time.Minute)
	if err != nil {
		return nil, err
	}
	first, err := d.awaitCount("scan done", 1, 10*time.Minute)
	if err != nil {
		return nil, err
	}
	hwmFirst, anon := d.hwm(), procStatus(d.proc.pid, "RssAnon")
	statusTook, err := timeStatus(b.binary, cfg)
	if err != nil {
		return nil, err
	}
	second, err := d.awaitCount("scan done", 2, scaleScanInterval+10*time.Minute)
	if err != nil {
		return nil, err
	}
	hwmSecond := d.hwm()
	if st := srv.sb.Stats(); st.Puts != 0 || d.count("file discovered") != 0 {
		return nil, fmt.Errorf("scale: known files were recorded again (%d discovered, %d PUTs)", d.count("file discovered"), st.Puts)
	}
	cost, err := d.stop()
	if err != nil {
		return nil, err
	}
	up := started.at.Sub(d.started)
	firstScan, secondScan := scanDuration(first), scanDuration(second)
	b.log("scale: start-up %s, start-up scan %s (VmHWM %s, anonymous %s), status %s, periodic scan %s (VmHWM %s); over its life %s",
		sec(up), sec(firstScan), mb(hwmFirst), mb(anon), sec(statusTook), sec(secondScan), mb(hwmSecond), cost)
	w := fmt.Sprintf("%d files in the tree and the journal", o.scaleFiles)
	const rssLimit = 150e6
	perFile := func(n int64) string { return fmt.Sprintf("%.0f bytes", float64(n)/float64(o.scaleFiles)) }
	return []row{
		{w, "s, exec → \"archivist started\"", sec(up), "-", math.NaN(), "< 2 s", verdict(up < 2*time.Second)},
		{w, "s, the start-up scan (a full rescan)", sec(firstScan), "-", math.NaN(), "< 30 s", verdict(firstScan < 30*time.Second)},
		{w, "s, a periodic full rescan", sec(secondScan), "-", math.NaN(), "< 30 s", verdict(secondScan < 30*time.Second)},
		{w, "s, `archivist status` answers", sec(statusTook), "-", math.NaN(), "< 1 s", verdict(statusTook < time.Second)},
		{w, "peak RSS: VmHWM after the start-up scan / after the rescan / maxrss", mb(hwmFirst) + " / " + mb(hwmSecond) + " / " + mb(cost.MaxRSS), "-", math.NaN(), "< 150 MB",
			verdict(hwmFirst < rssLimit && hwmSecond < rssLimit && cost.MaxRSS < rssLimit)},
		{w, "anonymous memory per file after the scan (the watcher's share)", perFile(anon), "-", math.NaN(), "-", nil},
		{w, "journal bytes per archived file", perFile(fi.Size()), "-", math.NaN(), "-", nil},
	}, nil
}

// scanDuration is the duration field of a "scan done" line.
func scanDuration(l logLine) time.Duration {
	if ns, ok := l.fields["duration"].(float64); ok { // logrus writes a Duration as ns
		return time.Duration(ns)
	}
	d, _ := time.ParseDuration(fmt.Sprint(l.fields["duration"]))
	return d
}

// timeStatus runs `archivist status` against the running daemon and returns how long it took.
func timeStatus(binary, cfg string) (time.Duration, error) {
	t := time.Now()
	out, err := exec.Command(binary, "status", "--config", cfg).CombinedOutput()
	took := time.Since(t)
	if err != nil {
		return 0, fmt.Errorf("archivist status: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "running since") {
		return 0, fmt.Errorf("archivist status did not reach the daemon:\n%s", out)
	}
	return took, nil
}

// rewriteConfig replaces each old string of pairs by the new one in the config file.
func rewriteConfig(path string, pairs ...string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			return fmt.Errorf("%s: no %q to replace", path, pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return os.WriteFile(path, []byte(s), 0o644)
}
