package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/archivist-project/archivist/archive/globalrelay"
)

// row is one line of the result table. Ratio is NaN when the figure has no baseline to divide
// by; Pass is nil for informative rows without a target.
type row struct {
	Workload, Figure, Value, Baseline string
	Ratio                             float64
	Target                            string
	Pass                              *bool
}

func verdict(ok bool) *bool { return &ok }

// bench holds the options and the shared parts of one run.
type bench struct {
	opts      options
	binary    string
	self      string // this program, for the raw-put child
	work      string // parent folder of every workload's folder
	trashed   int    // folders discarded so far
	sandboxes int    // sandbox folders made under --sandbox-dir, removed at the end
	sink      sink   // the kind of sandbox started now
	log       func(format string, args ...any)
}

// quiesce flushes dirty pages (sync(2)) so that the write-back of data written so far, such
// as the gigabytes of the large-file workload, does not stall the fsyncs of what is measured
// next. Without it, the latency run after the large file saw a p99 of 2 s instead of 535 ms.
func quiesce() { syscall.Sync() }

// workspace makes a fresh folder for one part of a workload, on a quiet disk.
func (b *bench) workspace(name string) (string, error) {
	quiesce()
	dir := filepath.Join(b.work, name)
	if err := b.discard(dir); err != nil {
		return "", err
	}
	return dir, os.MkdirAll(dir, 0o755)
}

// sandboxDir is where the sandbox of the workspace dir stores what it receives: in dir, or
// in a folder of its own under --sandbox-dir (a tmpfs, say, to take the sandbox's disk out
// of the figures: it stands in for a remote archive, whose disk is not this machine's).
func (b *bench) sandboxDir(dir string) string {
	if b.opts.sandboxDir == "" {
		return filepath.Join(dir, "sandbox")
	}
	b.sandboxes++
	return b.sandboxPath(b.sandboxes)
}

// sandboxPath is the folder of the n-th sandbox under --sandbox-dir.
func (b *bench) sandboxPath(n int) string {
	return filepath.Join(b.opts.sandboxDir, fmt.Sprintf("archivist-bench-sandbox-%d-%d", os.Getpid(), n))
}

// discard moves dir out of the way, into the work folder's trash, which is removed when the
// whole run is over. Deleting tens of thousands of files between two measured runs would
// slow the second one down: on ext4 without a journal (as here), the inode allocator skips
// inodes freed in the last minute or more, one by one, so creating files right after a mass
// delete can cost several times as much CPU as on a quiet file system. Both the sandbox (one
// file per PUT) and the daemon's inbox pay that, which made the daemon's run, the second
// one, look up to twice as slow as it was.
func (b *bench) discard(dir string) error {
	trash := filepath.Join(b.work, ".trash")
	if err := os.MkdirAll(trash, 0o755); err != nil {
		return err
	}
	b.trashed++
	err := os.Rename(dir, filepath.Join(trash, fmt.Sprintf("%d-%s", b.trashed, filepath.Base(dir))))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// latency: files dropped one at a time into an idle daemon.
func (b *bench) latency() ([]row, error) {
	o := b.opts
	dir, srv, cfg, cleanup, err := b.setup("latency", o.settle)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	stage := filepath.Join(dir, "stage")
	if err := writeSmallFiles(stage, o.latencyFiles, 1024, 0); err != nil {
		return nil, err
	}
	quiesce()
	d, err := b.startReady(cfg)
	if err != nil {
		return nil, err
	}
	defer d.kill()
	dropped, err := b.dropOneByOne(stage, filepath.Join(dir, "inbox"))
	if err != nil {
		return nil, err
	}
	if _, err := srv.awaitEvents(o.latencyFiles, time.Minute+o.settle*time.Duration(o.latencyFiles), d); err != nil {
		return nil, err
	}
	lat, err := dropLatencies(srv, dropped)
	if err != nil {
		return nil, err
	}
	if _, err := d.stop(); err != nil {
		return nil, err
	}
	slices.Sort(lat)
	p50, p99 := percentile(lat, 50), percentile(lat, 99)
	b.log("latency: %d files, one every %s: p50 %s, p99 %s, max %s (settle %s)", len(lat), o.latencyInterval,
		p50.Round(time.Millisecond), p99.Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), o.settle)
	w := fmt.Sprintf("latency at idle, %d files", len(lat))
	limit := o.settle + 100*time.Millisecond
	return []row{
		{w, "drop → event accepted, p50", ms(p50), ms(o.settle) + " (settle)", math.NaN(), "-", nil},
		{w, "drop → event accepted, p99", ms(p99), ms(o.settle) + " (settle)", math.NaN(), "< settle + 100 ms", verdict(p99 < limit)},
	}, nil
}

// dropOneByOne moves the --latency-files staged files into inbox, one every
// --latency-interval, and returns when each was dropped.
func (b *bench) dropOneByOne(stage, inbox string) (map[string]time.Time, error) {
	dropped := map[string]time.Time{}
	for i := range b.opts.latencyFiles {
		name := fmt.Sprintf("file-%07d.bin", i)
		dropped[name] = time.Now()
		if err := os.Rename(filepath.Join(stage, name), filepath.Join(inbox, name)); err != nil {
			return nil, err
		}
		time.Sleep(b.opts.latencyInterval)
	}
	return dropped, nil
}

// dropLatencies is, for each dropped file, the time from its drop to the sandbox receiving the
// event that carries it. It takes the files it finds out of dropped; any left is an error.
func dropLatencies(srv *archiveServer, dropped map[string]time.Time) ([]time.Duration, error) {
	var lat []time.Duration
	for _, c := range srv.sb.Conversations() {
		var conv globalrelay.Conversation
		if err := json.Unmarshal(c.Raw, &conv); err != nil {
			return nil, err
		}
		for _, ev := range conv.Events {
			for _, f := range ev.Files {
				if t, ok := dropped[f.Filename]; ok {
					lat = append(lat, c.Received.Sub(t))
					delete(dropped, f.Filename)
				}
			}
		}
	}
	if len(dropped) > 0 {
		return nil, fmt.Errorf("latency: %d dropped files have no event", len(dropped))
	}
	return lat, nil
}

func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100 // nearest rank
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

// rescan: a daemon start over a tree whose every file is already archived.
func (b *bench) rescan() ([]row, error) {
	o := b.opts
	dir, srv, cfg, cleanup, err := b.setup("rescan", o.settle)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	inbox := filepath.Join(dir, "inbox")
	t := time.Now()
	if err := writeSmallFiles(inbox, o.rescanFiles, 64, o.rescanPerDir); err != nil {
		return nil, err
	}
	n, err := journalFromTree(filepath.Join(dir, "state", "journal.db"), inbox)
	if err != nil {
		return nil, err
	}
	b.log("rescan: laid out %d files and recorded them as posted in %s", n, since(t))
	quiesce()

	findTook, err := timeFind(inbox, o.rescanFiles)
	if err != nil {
		return nil, err
	}

	d, err := startDaemon(b.binary, cfg)
	if err != nil {
		return nil, err
	}
	defer d.kill()
	done, err := d.await("scan done", 5*time.Minute)
	if err != nil {
		return nil, err
	}
	hwm := d.hwm()
	took := done.at.Sub(d.started)
	scanDur, err := scanDuration(done)
	if err != nil {
		return nil, err
	}
	time.Sleep(o.settle + 200*time.Millisecond) // anything the scan thought new would now be due
	if err := recordedAgain("rescan", srv, d); err != nil {
		return nil, err
	}
	if _, err := d.stop(); err != nil {
		return nil, err
	}
	b.log("rescan: exec → scan done %s (the scan itself %s), find %s, VmHWM at scan done %s",
		sec(took), sec(scanDur), sec(findTook), mb(hwm))
	w := fmt.Sprintf("rescan of %d files already archived", o.rescanFiles)
	return []row{
		{w, "s, exec → \"scan done\"", sec(took), sec(findTook) + " (find -type f \\| wc -l)", findTook.Seconds() / took.Seconds(), "< 5 s", verdict(took < 5*time.Second)},
		{w, "s, the scan alone (its log's duration)", sec(scanDur), sec(findTook) + " (find -type f \\| wc -l)", findTook.Seconds() / scanDur.Seconds(), "-", nil},
		{w, "VmHWM at \"scan done\"", mb(hwm), "-", math.NaN(), "-", nil},
	}, nil
}

// timeFind times the baseline of a rescan, `find -type f | wc -l` over inbox, and checks
// that it counts want files.
func timeFind(inbox string, want int) (time.Duration, error) {
	t := time.Now()
	out, err := exec.Command("sh", "-c", `find "$1" -type f | wc -l`, "find", inbox).Output()
	took := time.Since(t)
	if err != nil {
		return 0, fmt.Errorf("find: %w", err)
	}
	if got, _ := strconv.Atoi(strings.TrimSpace(string(out))); got != want {
		return 0, fmt.Errorf("find counted %d files, want %d", got, want)
	}
	return took, nil
}

// recordedAgain is an error when the daemon took a file of a tree that is all archived for
// new: it discovered one, or the sandbox received a PUT.
func recordedAgain(workload string, srv *archiveServer, d *daemon) error {
	if st := srv.sb.Stats(); st.Puts != 0 || d.count("file discovered") != 0 {
		return fmt.Errorf("%s: known files were recorded again (%d discovered, %d PUTs)", workload, d.count("file discovered"), st.Puts)
	}
	return nil
}

// startup: a daemon start over a large journal and an empty watch.
func (b *bench) startup() ([]row, error) {
	o := b.opts
	dir, _, cfg, cleanup, err := b.setup("startup", o.settle)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	db := filepath.Join(dir, "state", "journal.db")
	t := time.Now()
	if err := syntheticJournal(db, o.journalRecords); err != nil {
		return nil, err
	}
	fi, err := os.Stat(db)
	if err != nil {
		return nil, err
	}
	quiesce()
	b.log("startup: built a journal of %d posted records (%s) in %s", o.journalRecords, size(fi.Size()), since(t))

	built, err := b.startOnce(cfg, "journal as built")
	if err != nil {
		return nil, err
	}
	// A changed configuration makes the daemon look for held files to release (see
	// archive.ReleaseOnConfigChange); the start-up after an upgrade or an edit pays it.
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(f, "# edited")
	f.Close()
	edited, err := b.startOnce(cfg, "after a config edit")
	if err != nil {
		return nil, err
	}
	const rssLimit = 150e6
	w := fmt.Sprintf("start-up, %d journal records", o.journalRecords)
	return []row{
		{w, "s, exec → \"archivist started\"", sec(built.ready), "-", math.NaN(), "< 2 s", verdict(built.ready < 2*time.Second)},
		{w, "VmHWM at \"archivist started\"", mb(built.hwmReady), "-", math.NaN(), "< 150 MB", verdict(built.hwmReady < rssLimit)},
		{w, "s, exec → first \"scan done\"", sec(built.scanned), "-", math.NaN(), "< 2 s", verdict(built.scanned < 2*time.Second)},
		{w, "VmHWM at first \"scan done\"", mb(built.hwmScanned), "-", math.NaN(), "< 150 MB", verdict(built.hwmScanned < rssLimit)},
		{w + ", config edited", "s, exec → \"archivist started\"", sec(edited.ready), "-", math.NaN(), "< 2 s", verdict(edited.ready < 2*time.Second)},
		{w + ", config edited", "VmHWM at \"archivist started\"", mb(edited.hwmReady), "-", math.NaN(), "< 150 MB", verdict(edited.hwmReady < rssLimit)},
	}, nil
}

// startFigures is what one start of the daemon measured: the time from exec to "archivist started"
// and to the first "scan done", and VmHWM at each.
type startFigures struct {
	ready, scanned       time.Duration
	hwmReady, hwmScanned int64
}

// startOnce starts the daemon on cfg, awaits "archivist started" and the first "scan done",
// and stops it; what names the start in the log.
func (b *bench) startOnce(cfg, what string) (startFigures, error) {
	var s startFigures
	d, err := startDaemon(b.binary, cfg)
	if err != nil {
		return s, err
	}
	defer d.kill()
	l, err := d.await("archivist started", 2*time.Minute)
	if err != nil {
		return s, err
	}
	s.hwmReady = d.hwm()
	sc, err := d.await("scan done", 2*time.Minute)
	if err != nil {
		return s, err
	}
	s.hwmScanned = d.hwm()
	cost, err := d.stop()
	if err != nil {
		return s, err
	}
	s.ready, s.scanned = l.at.Sub(d.started), sc.at.Sub(d.started)
	b.log("startup (%s): exec → started %s (VmHWM %s), → scan done %s (VmHWM %s); over its life %s",
		what, sec(s.ready), mb(s.hwmReady), sec(s.scanned), mb(s.hwmScanned), cost)
	return s, nil
}

func since(t time.Time) string   { return time.Since(t).Round(time.Millisecond).String() }
func sec(d time.Duration) string { return fmt.Sprintf("%.3f s", d.Seconds()) }
func ms(d time.Duration) string {
	return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds())
}
func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
func size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
