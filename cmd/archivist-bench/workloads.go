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

// daemonEnv is a sandbox of its own plus a config for the daemon, in dir.
func (b *bench) daemonEnv(dir string, settle time.Duration) (*archiveServer, string, error) {
	srv, err := startSandbox(b.sandboxDir(dir))
	if err != nil {
		return nil, "", err
	}
	cfg, err := daemonConfig(dir, srv.url, b.opts.workers, settle)
	if err != nil {
		srv.stop()
		return nil, "", err
	}
	return srv, cfg, nil
}

// startReady starts the daemon and waits until its start-up scan of the (empty) inbox is done.
func (b *bench) startReady(cfg string) (*daemon, error) {
	d, err := startDaemon(b.binary, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := d.await("scan done", 30*time.Second); err != nil {
		d.kill()
		return nil, err
	}
	return d, nil
}

// rawBaseline PUTs every file under path with the raw-put child against a sandbox of its own.
func (b *bench) rawBaseline(name, path string) (rawResult, error) {
	dir, err := b.workspace(name)
	if err != nil {
		return rawResult{}, err
	}
	defer b.discard(dir)
	srv, err := startSandbox(b.sandboxDir(dir))
	if err != nil {
		return rawResult{}, err
	}
	defer srv.stop()
	token, err := fetchToken(srv.url)
	if err != nil {
		return rawResult{}, err
	}
	res, err := runRawPut(b.self, srv.url, token, path, b.opts.workers)
	if err != nil {
		return rawResult{}, err
	}
	if st := srv.sb.Stats(); st.Puts != res.Files {
		return rawResult{}, fmt.Errorf("raw-put: sandbox stored %d files of %d", st.Puts, res.Files)
	}
	return res, nil
}

// dropAndAwait starts the daemon, moves src into its inbox in one rename, and waits for
// events accepted events. It returns the time from the rename to the last accepted event and
// the daemon's peak RSS over its life.
func (b *bench) dropAndAwait(name, src string, events int, timeout time.Duration) (time.Duration, int64, error) {
	dir, srv, cfg, cleanup, err := b.setup(name, b.opts.settle)
	if err != nil {
		return 0, 0, err
	}
	defer cleanup()
	d, err := b.startReady(cfg)
	if err != nil {
		return 0, 0, err
	}
	defer d.kill()
	dst := filepath.Join(dir, "inbox", filepath.Base(src))
	start := time.Now()
	if err := os.Rename(src, dst); err != nil {
		return 0, 0, err
	}
	defer os.Rename(dst, src) // the data is reused by the next run
	last, err := srv.awaitEvents(events, timeout, d)
	if err != nil {
		return 0, 0, err
	}
	if st := srv.sb.Stats(); st.Puts != events {
		return 0, 0, fmt.Errorf("%d PUTs for %d files", st.Puts, events)
	}
	if n := d.problems(); n > 0 {
		b.log("%s: the daemon logged %d warnings or errors:\n%s", name, n, d.tail())
	}
	// VmHWM counts the journal's pages the daemon has read through its memory map (clean,
	// file-backed, reclaimable) with its own memory: log the two apart as they are now.
	pid := d.cmd.Process.Pid
	b.log("%s: resident now: %s anonymous (heap, stacks), %s file-backed (mostly the journal's map)",
		name, mb(procStatus(pid, "RssAnon")), mb(procStatus(pid, "RssFile")))
	peak, err := d.stop()
	if err != nil {
		return 0, 0, err
	}
	return last.Sub(start), peak, nil
}

// setup makes a workspace with a sandbox and a daemon config for workload name; done
// stops the sandbox and discards the workspace.
func (b *bench) setup(name string, settle time.Duration) (dir string, srv *archiveServer, cfg string, done func(), err error) {
	dir, err = b.workspace(name)
	if err != nil {
		return "", nil, "", nil, err
	}
	srv, cfg, err = b.daemonEnv(dir, settle)
	if err != nil {
		b.discard(dir)
		return "", nil, "", nil, err
	}
	return dir, srv, cfg, func() { srv.stop(); b.discard(dir) }, nil
}

// median of xs (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// small: many small files dropped at once (one folder renamed into the inbox).
func (b *bench) small() ([]row, error) {
	o := b.opts
	data, err := b.workspace("small-data")
	if err != nil {
		return nil, err
	}
	defer b.discard(data)
	batch := filepath.Join(data, "batch")
	t := time.Now()
	if err := writeSmallFiles(batch, o.files, o.fileSize, 0); err != nil {
		return nil, err
	}
	b.log("small: wrote %d files of %d bytes in %s", o.files, o.fileSize, since(t))

	var rawRates, rates []float64
	var rawPeak, peak int64
	for i := 1; i <= o.rounds; i++ {
		raw, err := b.rawBaseline("small-raw", batch)
		if err != nil {
			return nil, err
		}
		rawRate := float64(raw.Files) / raw.Seconds
		b.log("small %d/%d: raw PUT loop: %d files in %.3fs (%.0f files/s), peak RSS %s", i, o.rounds, raw.Files, raw.Seconds, rawRate, mb(raw.PeakRSS))

		took, p, err := b.dropAndAwait("small-daemon", batch, o.files, 2*time.Minute+time.Duration(o.files)*20*time.Millisecond)
		if err != nil {
			return nil, err
		}
		rate := float64(o.files) / took.Seconds()
		b.log("small %d/%d: daemon: %d files in %.3fs (%.0f files/s, settle %s included), peak RSS %s; ratio %.2f",
			i, o.rounds, o.files, took.Seconds(), rate, o.settle, mb(p), rate/rawRate)
		rawRates, rates = append(rawRates, rawRate), append(rates, rate)
		rawPeak, peak = max(rawPeak, raw.PeakRSS), max(peak, p)
	}
	rawRate, rate := median(rawRates), median(rates)
	w := fmt.Sprintf("%d files of %s dropped at once", o.files, size(int64(o.fileSize)))
	return []row{
		{w, "files/s, drop → last event accepted", fmt.Sprintf("%.0f", rate), fmt.Sprintf("%.0f (raw PUT loop)", rawRate),
			rate / rawRate, "≥ 0.5", verdict(rate/rawRate >= 0.5)},
		{w, "peak RSS (informative: must stay flat)", mb(peak), mb(rawPeak) + " (raw PUT loop)", math.NaN(), "-", nil},
	}, nil
}

// big: one large file, streamed.
func (b *bench) big() ([]row, error) {
	o := b.opts
	data, err := b.workspace("big-data")
	if err != nil {
		return nil, err
	}
	defer b.discard(data)
	file := filepath.Join(data, "big.bin")
	t := time.Now()
	if err := writeBigFile(file, o.big); err != nil {
		return nil, err
	}
	b.log("big: wrote %s in %s", size(o.big), since(t))

	var rawRates, tooks []float64
	var rawPeak, peak int64
	for i := 1; i <= o.rounds; i++ {
		raw, err := b.rawBaseline("big-raw", file)
		if err != nil {
			return nil, err
		}
		rawRate := float64(raw.Bytes) / 1e6 / raw.Seconds
		b.log("big %d/%d: raw streaming PUT: %.3fs (%.1f MB/s), peak RSS %s", i, o.rounds, raw.Seconds, rawRate, mb(raw.PeakRSS))

		took, p, err := b.dropAndAwait("big-daemon", file, 1, 10*time.Minute)
		if err != nil {
			return nil, err
		}
		b.log("big %d/%d: daemon: %.3fs drop → event (%.1f MB/s; %.1f MB/s without the %s settle), peak RSS %s", i, o.rounds, took.Seconds(),
			float64(o.big)/1e6/took.Seconds(), float64(o.big)/1e6/(took-o.settle).Seconds(), o.settle, mb(p))
		rawRates, tooks = append(rawRates, rawRate), append(tooks, took.Seconds())
		rawPeak, peak = max(rawPeak, raw.PeakRSS), max(peak, p)
	}
	rawRate, took := median(rawRates), median(tooks)
	rate := float64(o.big) / 1e6 / took
	net := float64(o.big) / 1e6 / (took - o.settle.Seconds())
	w := "one file of " + size(o.big)
	const rssLimit = 64e6
	return []row{
		{w, "MB/s, drop → event accepted", fmt.Sprintf("%.1f", rate), fmt.Sprintf("%.1f (raw streaming PUT)", rawRate),
			rate / rawRate, "≥ 0.8", verdict(rate/rawRate >= 0.8)},
		{w, "MB/s, same minus the settle time", fmt.Sprintf("%.1f", net), fmt.Sprintf("%.1f (raw streaming PUT)", rawRate),
			net / rawRate, "≥ 0.8", verdict(net/rawRate >= 0.8)},
		{w, "peak RSS of the daemon", mb(peak), mb(rawPeak) + " (raw streaming PUT)", math.NaN(), "< 64 MB", verdict(peak < rssLimit)},
	}, nil
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
	dropped := map[string]time.Time{}
	for i := range o.latencyFiles {
		name := fmt.Sprintf("file-%07d.bin", i)
		dropped[name] = time.Now()
		if err := os.Rename(filepath.Join(stage, name), filepath.Join(dir, "inbox", name)); err != nil {
			return nil, err
		}
		time.Sleep(o.latencyInterval)
	}
	if _, err := srv.awaitEvents(o.latencyFiles, time.Minute+o.settle*time.Duration(o.latencyFiles), d); err != nil {
		return nil, err
	}
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
	if _, err := d.stop(); err != nil {
		return nil, err
	}
	slices.Sort(lat)
	p50, p99 := percentile(lat, 50), percentile(lat, 99)
	b.log("latency: %d files, one every %s: p50 %s, p99 %s, max %s (settle %s)", len(lat), o.latencyInterval,
		p50.Round(time.Millisecond), p99.Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), o.settle)
	w := fmt.Sprintf("latency at idle, %d files", len(lat))
	limit := o.settle + 250*time.Millisecond
	return []row{
		{w, "drop → event accepted, p50", ms(p50), ms(o.settle) + " (settle)", math.NaN(), "-", nil},
		{w, "drop → event accepted, p99", ms(p99), ms(o.settle) + " (settle)", math.NaN(), "< settle + 250 ms", verdict(p99 < limit)},
	}, nil
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

	t = time.Now()
	out, err := exec.Command("sh", "-c", `find "$1" -type f | wc -l`, "find", inbox).Output()
	findTook := time.Since(t)
	if err != nil {
		return nil, fmt.Errorf("find: %w", err)
	}
	if got, _ := strconv.Atoi(strings.TrimSpace(string(out))); got != o.rescanFiles {
		return nil, fmt.Errorf("find counted %d files, want %d", got, o.rescanFiles)
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
	scanDur, _ := time.ParseDuration(fmt.Sprint(done.fields["duration"]))
	if scanDur == 0 {
		if ns, ok := done.fields["duration"].(float64); ok { // logrus writes a Duration as ns
			scanDur = time.Duration(ns)
		}
	}
	time.Sleep(o.settle + 200*time.Millisecond) // anything the scan thought new would now be due
	if st := srv.sb.Stats(); st.Puts != 0 || d.count("file discovered") != 0 {
		return nil, fmt.Errorf("rescan: known files were recorded again (%d discovered, %d PUTs)", d.count("file discovered"), st.Puts)
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

	start := func(what string) (ready, scanned time.Duration, hwmReady, hwmScanned int64, err error) {
		d, err := startDaemon(b.binary, cfg)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		defer d.kill()
		l, err := d.await("archivist started", 2*time.Minute)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		hwmReady = d.hwm()
		s, err := d.await("scan done", 2*time.Minute)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		hwmScanned = d.hwm()
		peak, err := d.stop()
		if err != nil {
			return 0, 0, 0, 0, err
		}
		ready, scanned = l.at.Sub(d.started), s.at.Sub(d.started)
		b.log("startup (%s): exec → started %s (VmHWM %s), → scan done %s (VmHWM %s), peak RSS %s",
			what, sec(ready), mb(hwmReady), sec(scanned), mb(hwmScanned), mb(peak))
		return ready, scanned, hwmReady, hwmScanned, nil
	}
	ready, scanned, hwmReady, hwmScanned, err := start("journal as built")
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
	cready, _, chwm, _, err := start("after a config edit")
	if err != nil {
		return nil, err
	}
	const rssLimit = 150e6
	w := fmt.Sprintf("start-up, %d journal records", o.journalRecords)
	return []row{
		{w, "s, exec → \"archivist started\"", sec(ready), "-", math.NaN(), "< 2 s", verdict(ready < 2*time.Second)},
		{w, "VmHWM at \"archivist started\"", mb(hwmReady), "-", math.NaN(), "< 150 MB", verdict(hwmReady < rssLimit)},
		{w, "s, exec → first \"scan done\"", sec(scanned), "-", math.NaN(), "< 2 s", verdict(scanned < 2*time.Second)},
		{w, "VmHWM at first \"scan done\"", mb(hwmScanned), "-", math.NaN(), "< 150 MB", verdict(hwmScanned < rssLimit)},
		{w + ", config edited", "s, exec → \"archivist started\"", sec(cready), "-", math.NaN(), "< 2 s", verdict(cready < 2*time.Second)},
		{w + ", config edited", "VmHWM at \"archivist started\"", mb(chwm), "-", math.NaN(), "< 150 MB", verdict(chwm < rssLimit)},
	}, nil
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
