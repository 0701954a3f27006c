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
	"regexp"
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
	db := filepath.Join(dir, "state", "journal.db")
	journal, err := b.scaleTree(filepath.Join(dir, "inbox"), db)
	if err != nil {
		return nil, err
	}
	quiesce()
	f, err := b.runScale(cfg, srv)
	if err != nil {
		return nil, err
	}
	cp, err := compactScale(b.binary, cfg, db)
	if err != nil {
		return nil, err
	}
	b.log("scale: journal %s after the daemon ran; rewritten %s in %s; with retention %s in %s (%s); verify took %s",
		size(cp.before), size(cp.repacked), sec(cp.repack), size(cp.after), sec(cp.took), cp.removed, sec(cp.verify))
	b.log("scale: start-up %s, start-up scan %s (VmHWM %s, anonymous %s), status %s, periodic scan %s (VmHWM %s); over its life %s",
		sec(f.up), sec(f.firstScan), mb(f.hwmFirst), mb(f.anon), sec(f.statusTook), sec(f.secondScan), mb(f.hwmSecond), f.cost)
	return scaleRows(o.scaleFiles, f, journal, cp), nil
}

// scaleTree writes --scale-files small files into inbox and records them all as archived in
// the journal db; it returns the journal's size.
func (b *bench) scaleTree(inbox, db string) (int64, error) {
	n := b.opts.scaleFiles
	t := time.Now()
	if err := writeSmallFiles(inbox, n, 64, 1000); err != nil {
		return 0, err
	}
	b.log("scale: wrote %d files in %s", n, since(t))
	t = time.Now()
	recorded, err := journalFromTree(db, inbox)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(db)
	if err != nil {
		return 0, err
	}
	b.log("scale: recorded %d files as archived in %s; journal %s", recorded, since(t), size(fi.Size()))
	return fi.Size(), nil
}

// scaleFigures is what runScale measured of the daemon.
type scaleFigures struct {
	up, firstScan, secondScan, statusTook time.Duration
	hwmFirst, hwmSecond, anon             int64
	cost                                  measure
}

// runScale starts the daemon on the archived tree, measures its start-up, its start-up scan,
// `archivist status` and the periodic scan that follows, checks that it recorded nothing
// again, and stops it.
func (b *bench) runScale(cfg string, srv *archiveServer) (scaleFigures, error) {
	var f scaleFigures
	d, err := startDaemon(b.binary, cfg)
	if err != nil {
		return f, err
	}
	defer d.kill()
	started, err := d.await("archivist started", 2*time.Minute)
	if err != nil {
		return f, err
	}
	first, err := d.awaitCount("scan done", 1, 10*time.Minute)
	if err != nil {
		return f, err
	}
	f.hwmFirst, f.anon = d.hwm(), procStatus(d.proc.pid, "RssAnon")
	if f.statusTook, err = timeStatus(b.binary, cfg); err != nil {
		return f, err
	}
	second, err := d.awaitCount("scan done", 2, scaleScanInterval+10*time.Minute)
	if err != nil {
		return f, err
	}
	f.hwmSecond = d.hwm()
	if err := recordedAgain("scale", srv, d); err != nil {
		return f, err
	}
	if f.cost, err = d.stop(); err != nil {
		return f, err
	}
	f.up = started.at.Sub(d.started)
	if f.firstScan, err = scanDuration(first); err != nil {
		return f, err
	}
	f.secondScan, err = scanDuration(second)
	return f, err
}

// scaleRows is the table of the scale workload over files files: the daemon's figures f, the
// journal's size as the daemon found it and what compacting it measured.
func scaleRows(files int, f scaleFigures, journal int64, cp *compacted) []row {
	w := fmt.Sprintf("%d files in the tree and the journal", files)
	const rssLimit = 150e6
	perFile := func(n int64) string { return fmt.Sprintf("%.0f bytes", float64(n)/float64(files)) }
	return []row{
		{w, "s, exec → \"archivist started\"", sec(f.up), "-", math.NaN(), "< 2 s", verdict(f.up < 2*time.Second)},
		{w, "s, the start-up scan (a full rescan)", sec(f.firstScan), "-", math.NaN(), "< 30 s", verdict(f.firstScan < 30*time.Second)},
		{w, "s, a periodic full rescan", sec(f.secondScan), "-", math.NaN(), "< 30 s", verdict(f.secondScan < 30*time.Second)},
		{w, "s, `archivist status` answers", sec(f.statusTook), "-", math.NaN(), "< 1 s", verdict(f.statusTook < time.Second)},
		{w, "peak RSS: VmHWM after the start-up scan / after the rescan / maxrss", mb(f.hwmFirst) + " / " + mb(f.hwmSecond) + " / " + mb(f.cost.MaxRSS), "-", math.NaN(), "< 150 MB",
			verdict(f.hwmFirst < rssLimit && f.hwmSecond < rssLimit && f.cost.MaxRSS < rssLimit)},
		{w, "anonymous memory per file after the scan (the watcher's share)", perFile(f.anon), "-", math.NaN(), "-", nil},
		{w, "journal bytes per archived file", perFile(journal), "-", math.NaN(), "-", nil},
		{w, "journal bytes per archived file, after `journal compact` without retention (rewritten, live pages only)", perFile(cp.repacked), "-", math.NaN(), "-", nil},
		{w, "journal bytes per archived file, after `journal compact --older-than 0` (" + cp.removed + ")", perFile(cp.after), "-", math.NaN(), "-", nil},
		{w, "s, `archivist journal compact` without retention (rewrite only), daemon stopped", sec(cp.repack), "-", math.NaN(), "-", nil},
		{w, "s, `archivist journal compact --older-than 0` (audit walk + rewrite), daemon stopped", sec(cp.took), "-", math.NaN(), "-", nil},
		{w, "s, `archivist verify` of the compacted journal", sec(cp.verify), "-", math.NaN(), "-", nil},
	}
}

// compacted is what compactScale measured.
type compacted struct {
	before, repacked, after int64
	repack, took, verify    time.Duration
	removed                 string
}

// compactScale runs `archivist journal compact` on the stopped daemon's journal twice: with
// no retention (the file rewritten with its live pages only), then with a retention that
// takes every entry (--older-than 0); then `archivist verify`.
func compactScale(binary, cfg, db string) (*compacted, error) {
	c := &compacted{}
	var err error
	if c.before, err = fileSize(db); err != nil {
		return nil, err
	}
	if _, c.repack, err = timeCommand(binary, "journal", "compact", "--config", cfg); err != nil {
		return nil, err
	}
	if c.repacked, err = fileSize(db); err != nil {
		return nil, err
	}
	out, took, err := timeCommand(binary, "journal", "compact", "--config", cfg, "--older-than", "0")
	if err != nil {
		return nil, err
	}
	c.took = took
	if m := regexp.MustCompile(`(\d+) detail entries`).FindStringSubmatch(out); m != nil {
		c.removed = m[1] + " detail entries removed"
	}
	if c.after, err = fileSize(db); err != nil {
		return nil, err
	}
	_, c.verify, err = timeCommand(binary, "verify", "--config", cfg)
	return c, err
}

func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// timeCommand runs the binary with args and returns its output and how long it took.
func timeCommand(binary string, args ...string) (string, time.Duration, error) {
	t := time.Now()
	out, err := exec.Command(binary, args...).CombinedOutput()
	took := time.Since(t)
	if err != nil {
		return string(out), took, fmt.Errorf("archivist %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), took, nil
}

// scanDuration is the duration field of a "scan done" line (one of the first fullLines
// lines of its message: later ones are not decoded to their fields).
func scanDuration(l logLine) (time.Duration, error) {
	switch v := l.fields["duration"].(type) {
	case float64: // logrus writes a Duration as ns
		return time.Duration(v), nil
	case string:
		return time.ParseDuration(v)
	}
	return 0, fmt.Errorf("a scan done line without a duration: %v", l.fields)
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
