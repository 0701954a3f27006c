package main

// The throughput workloads (small files, one big file). Each round runs three things back to
// back on the same data:
//
//   - null: the raw PUT loop against a server that reads each body and discards it, the
//     fastest any sink can be on this machine;
//   - raw: the same loop against the sandbox (the sink);
//   - daemon: the real binary dropped the same data, against a sandbox of the same kind.
//
// The ratio judged is daemon ÷ raw. The sink's share, raw ÷ null, says how much the sink
// itself slows the baseline: near 1, the sink is not the bottleneck and the ratio measures
// the daemon; far below 1, the ratio says more about the sink. The main rows use the memory
// sandbox (bodies hashed and dropped); --disk-rounds adds rows against the disk sandbox.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/archivist-project/archivist/archive/sandbox"
)

// sink is the kind of sandbox the throughput rows are measured against.
type sink int

const (
	sinkMemory   sink = iota // memory store, every body hashed (as an archive would): the judged rows
	sinkUnhashed             // memory store, bodies read and dropped unhashed: the fastest sink
	sinkDisk                 // the sandbox as it runs by default: a file per PUT, fsynced
)

func (s sink) String() string {
	return [...]string{"memory sandbox", "memory sandbox, bodies unhashed", "disk sandbox"}[s]
}

// startSandbox starts a sandbox of kind s that stores in dir.
func startSandbox(dir string, s sink) (*archiveServer, error) {
	return startArchive(sandbox.Options{Dir: dir, Memory: s != sinkDisk, Unhashed: s == sinkUnhashed})
}

// nullServer answers every request 200 after reading its body to the end, and keeps nothing.
func startNull() (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read as the memory sandbox reads, so the sink share is what its store adds.
		if _, err := sandbox.CopyBody(io.Discard, r.Body, r.ContentLength); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
	})}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "archivist-bench: null server:", err)
		}
	}()
	return "http://" + ln.Addr().String(), func() { _ = srv.Shutdown(context.Background()) }, nil
}

// daemonEnv is a sandbox of its own plus a config for the daemon, in dir.
func (b *bench) daemonEnv(dir string, settle time.Duration) (*archiveServer, string, error) {
	srv, err := startSandbox(b.sandboxDir(dir), b.sink)
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
	return b.baseline(name, func(srv *archiveServer) (rawResult, error) {
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
	})
}

// floorBaseline runs the floor-put child (floor.go) on every file under path against a
// sandbox of its own: the invariants' work without the journal and the watcher.
func (b *bench) floorBaseline(name, path string) (rawResult, error) {
	return b.baseline(name, func(srv *archiveServer) (rawResult, error) {
		res, err := runChild(b.self, "floor-put", "--url", srv.url, "--concurrency", fmt.Sprint(b.opts.workers), "--path", path)
		if err != nil {
			return rawResult{}, err
		}
		if got, _ := srv.accepted(); got != res.Files {
			return rawResult{}, fmt.Errorf("floor-put: sandbox accepted %d events for %d files", got, res.Files)
		}
		res.Requests = srv.sb.Stats().Posts
		return res, nil
	})
}

// baseline runs one baseline against a sandbox of its own in workspace name, and adds the
// CPU the bench process (the sandbox) spent meanwhile as the result's SinkCPU.
func (b *bench) baseline(name string, run func(srv *archiveServer) (rawResult, error)) (rawResult, error) {
	dir, err := b.workspace(name)
	if err != nil {
		return rawResult{}, err
	}
	defer b.discard(dir)
	srv, err := startSandbox(b.sandboxDir(dir), b.sink)
	if err != nil {
		return rawResult{}, err
	}
	defer srv.stop()
	c0 := selfCPU()
	res, err := run(srv)
	res.SinkCPU = selfCPU() - c0
	return res, err
}

// nullBaseline PUTs every file under path with the raw-put child to the null server.
func (b *bench) nullBaseline(path string) (rawResult, error) {
	quiesce()
	url, stop, err := startNull()
	if err != nil {
		return rawResult{}, err
	}
	defer stop()
	return runRawPut(b.self, url, "null", path, b.opts.workers)
}

// dropAndAwait starts the daemon with the given settle, moves src into its inbox in one
// rename, and waits for events accepted events. It returns the time from the rename to the
// last accepted event, what the daemon cost over its life and the CPU seconds the bench
// process spent meanwhile (the sandbox, and reading the daemon's log).
func (b *bench) dropAndAwait(name, src string, settle time.Duration, events int, timeout time.Duration) (took time.Duration, cost measure, sinkCPU float64, err error) {
	dir, srv, cfg, cleanup, err := b.setup(name, settle)
	if err != nil {
		return 0, measure{}, 0, err
	}
	defer cleanup()
	d, err := b.startReady(cfg)
	if err != nil {
		return 0, measure{}, 0, err
	}
	defer d.kill()
	dst := filepath.Join(dir, "inbox", filepath.Base(src))
	start, c0 := time.Now(), selfCPU()
	if err := os.Rename(src, dst); err != nil {
		return 0, measure{}, 0, err
	}
	defer os.Rename(dst, src) // the data is reused by the next run
	last, err := srv.awaitEvents(events, timeout, d)
	if err != nil {
		return 0, measure{}, 0, err
	}
	sinkCPU = selfCPU() - c0
	st := srv.sb.Stats()
	if st.Puts != events {
		return 0, measure{}, 0, fmt.Errorf("%d PUTs for %d files", st.Puts, events)
	}
	b.log("%s: %d events in %d requests", name, events, st.Posts)
	if n := d.problems(); n > 0 {
		b.log("%s: the daemon logged %d warnings or errors:\n%s", name, n, d.problemLines())
	}
	// VmHWM counts the journal's pages the daemon has read through its memory map (clean,
	// file-backed, reclaimable) with its own memory: log the two apart as they are now.
	b.log("%s: resident now: %s anonymous (heap, stacks), %s file-backed (mostly the journal's map)",
		name, mb(procStatus(d.proc.pid, "RssAnon")), mb(procStatus(d.proc.pid, "RssFile")))
	cost, err = d.stop()
	if err != nil {
		return 0, measure{}, 0, err
	}
	return last.Sub(start), cost, sinkCPU, nil
}

// round is one round of a throughput workload: rates in units per second. daemon is over the
// time from the end of the quiet period (drop + settle: the data is moved in whole and never
// changes) to the last event accepted, the time the daemon works; dropped is over the time
// from the drop, settle included.
type round struct {
	null, raw, daemon, dropped float64
	rawCost, cost              measure
	// rawSink and sink are the CPU seconds of the bench process (the sandbox) during the raw
	// and the daemon run; cpuRatio is (raw-put + its sink) ÷ (daemon + its sink): the ratio
	// of rates a machine whose CPUs are all busy in both runs allows.
	rawSink, sink, cpuRatio float64
	// floor is the floor's rate (0 when it did not run), floorCost and floorSink its CPU and
	// its sink's, as for the raw run.
	floor     float64
	floorCost measure
	floorSink float64
}

// selfCPU is the user and system CPU seconds of this process so far.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// throughput is one throughput workload: its data, its daemon's settle, and how its runs
// turn into rates.
type throughput struct {
	name, path string
	settle     time.Duration
	events     int
	timeout    time.Duration
	rate       func(rawResult) float64     // a raw run's rate
	daemonRate func(time.Duration) float64 // the daemon's rate over a time
	floor      bool                        // also run the floor (floor.go) each round
}

// rounds alternates null, raw and daemon runs of t, n times.
func (b *bench) rounds(t throughput, n int) ([]round, error) {
	var rs []round
	for i := 1; i <= n; i++ {
		var r round
		null, err := b.nullBaseline(t.path)
		if err != nil {
			return nil, fmt.Errorf("null baseline: %w", err)
		}
		raw, err := b.rawBaseline(t.name+"-raw", t.path)
		if err != nil {
			return nil, err
		}
		if t.floor {
			fl, err := b.floorBaseline(t.name+"-floor", t.path)
			if err != nil {
				return nil, fmt.Errorf("floor: %w", err)
			}
			r.floor, r.floorCost, r.floorSink = t.rate(fl), fl.Cost, fl.SinkCPU
			b.log("%s %d/%d: floor %.1f (%.2f of raw; %s; sink CPU %.2fs; %d event requests)", t.name, i, n, r.floor, r.floor/t.rate(raw), fl.Cost, fl.SinkCPU, fl.Requests)
		}
		took, cost, sink, err := b.dropAndAwait(t.name+"-daemon", t.path, t.settle, t.events, t.timeout)
		if err != nil {
			return nil, err
		}
		if took <= t.settle {
			return nil, fmt.Errorf("%s: the last event was accepted %s after the drop, within the settle of %s", t.name, took, t.settle)
		}
		r.null, r.raw, r.rawCost, r.cost = t.rate(null), t.rate(raw), raw.Cost, cost
		r.daemon, r.dropped = t.daemonRate(took-t.settle), t.daemonRate(took)
		r.rawSink, r.sink = raw.SinkCPU, sink
		r.cpuRatio = (raw.Cost.CPU + raw.SinkCPU) / (cost.CPU + sink)
		b.log("%s %d/%d: null %.1f, raw %.1f (sink share %.2f; %s; sink CPU %.2fs), daemon %.1f from the quiet period's end (%.1f from the drop, %.3fs; %s; sink CPU %.2fs); ratio %.2f, CPU ratio %.2f",
			t.name, i, n, r.null, r.raw, r.raw/r.null, raw.Cost, raw.SinkCPU, r.daemon, r.dropped, took.Seconds(), cost, sink, r.daemon/r.raw, r.cpuRatio)
		rs = append(rs, r)
	}
	return rs, nil
}

// summary is the medians and peaks of a set of rounds.
type summary struct {
	null, raw, daemon, dropped, cpu float64
	rawCPU, rawSink, sink           float64 // medians: raw-put's CPU, the sink's in the raw and in the daemon run
	cpuRatios                       []float64
	cpuRatio                        float64 // median of the rounds' CPU ratios
	peakHWM, peakMaxRSS             int64
	rawPeak                         int64
	ratios, droppedRatios           []float64
	// ratio is the median of the rounds' own ratios: each round's daemon and raw runs are
	// seconds apart, so a machine whose speed drifts between rounds moves both alike, while
	// the ratio of the medians may pair a fast raw round with a slow daemon round.
	ratio, droppedRatio float64
	// The floor's medians: its rate, its own ratio to raw (floorRatios by round), its CPU and
	// its sink's; floorPeak its highest VmHWM.
	floor, floorRatio, floorCPU, floorSink float64
	floorRatios                            []float64
	floorPeak                              int64
}

func summarize(rs []round) summary {
	var s summary
	var nulls, raws, daemons, dropped, cpus, rawCPUs, rawSinks, sinks, floors, floorCPUs, floorSinks []float64
	for _, r := range rs {
		if r.floor > 0 {
			floors, floorCPUs, floorSinks = append(floors, r.floor), append(floorCPUs, r.floorCost.CPU), append(floorSinks, r.floorSink)
			s.floorRatios = append(s.floorRatios, r.floor/r.raw)
			s.floorPeak = max(s.floorPeak, r.floorCost.HWM)
		}
		rawCPUs, rawSinks, sinks = append(rawCPUs, r.rawCost.CPU), append(rawSinks, r.rawSink), append(sinks, r.sink)
		s.cpuRatios = append(s.cpuRatios, r.cpuRatio)
		nulls, raws, daemons, cpus = append(nulls, r.null), append(raws, r.raw), append(daemons, r.daemon), append(cpus, r.cost.CPU)
		dropped = append(dropped, r.dropped)
		s.peakHWM, s.peakMaxRSS = max(s.peakHWM, r.cost.HWM), max(s.peakMaxRSS, r.cost.MaxRSS)
		s.rawPeak = max(s.rawPeak, r.rawCost.HWM)
		s.ratios, s.droppedRatios = append(s.ratios, r.daemon/r.raw), append(s.droppedRatios, r.dropped/r.raw)
	}
	s.null, s.raw, s.daemon, s.dropped, s.cpu = median(nulls), median(raws), median(daemons), median(dropped), median(cpus)
	s.ratio, s.droppedRatio = median(s.ratios), median(s.droppedRatios)
	s.rawCPU, s.rawSink, s.sink, s.cpuRatio = median(rawCPUs), median(rawSinks), median(sinks), median(s.cpuRatios)
	if len(floors) > 0 {
		s.floor, s.floorRatio, s.floorCPU, s.floorSink = median(floors), median(s.floorRatios), median(floorCPUs), median(floorSinks)
	}
	return s
}

func ratios(xs []float64) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%.2f", x)
	}
	return out
}

// sinkLabel names the sink of the current rows.
func (b *bench) sinkLabel() string { return b.sink.String() }

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
	var out []row
	err = b.eachSink(func(rounds int) error {
		rs, err := b.rounds(throughput{name: "small", path: batch, settle: o.settle, events: o.files,
			timeout:    2*time.Minute + time.Duration(o.files)*20*time.Millisecond,
			rate:       func(r rawResult) float64 { return float64(r.Files) / r.Seconds },
			daemonRate: func(d time.Duration) float64 { return float64(o.files) / d.Seconds() }, floor: true}, rounds)
		if err != nil {
			return err
		}
		s := summarize(rs)
		w := fmt.Sprintf("%d files of %s dropped at once, %s", o.files, size(int64(o.fileSize)), b.sinkLabel())
		target, pass := "≥ 0.7", verdict(s.ratio >= 0.7)
		if b.sink == sinkDisk {
			target, pass = "-", nil // informative: the disk bounds both sides
		}
		out = append(out,
			row{w, fmt.Sprintf("files/s, quiet period's end → last event accepted (rounds: %s; ratio of the medians %.2f)", ratios(s.ratios), s.daemon/s.raw),
				fmt.Sprintf("%.0f", s.daemon), fmt.Sprintf("%.0f (raw PUT loop)", s.raw), s.ratio, target, pass},
			row{w, fmt.Sprintf("files/s, drop → last event accepted, the %s settle included (rounds: %s)", o.settle, ratios(s.droppedRatios)),
				fmt.Sprintf("%.0f", s.dropped), fmt.Sprintf("%.0f (raw PUT loop)", s.raw), s.droppedRatio, "-", nil},
			row{w, "sink share: raw to the sink ÷ raw to a null server", fmt.Sprintf("%.0f", s.raw), fmt.Sprintf("%.0f (raw to null)", s.null),
				s.raw / s.null, "-", nil},
			row{w, "CPU per file (user + system, the daemon's whole life)", fmt.Sprintf("%.0f µs", s.cpu/float64(o.files)*1e6), "-", math.NaN(), "-", nil},
			row{w, fmt.Sprintf("CPU per file with the sink's: (raw-put + sink) ÷ (daemon + sink), the ratio all-busy CPUs allow (rounds: %s)", ratios(s.cpuRatios)),
				fmt.Sprintf("%.0f + %.0f µs", s.cpu/float64(o.files)*1e6, s.sink/float64(o.files)*1e6),
				fmt.Sprintf("%.0f + %.0f µs (raw PUT loop)", s.rawCPU/float64(o.files)*1e6, s.rawSink/float64(o.files)*1e6), s.cpuRatio, "-", nil},
			row{w, "peak RSS of any round: VmHWM / rusage maxrss", mb(s.peakHWM) + " / " + mb(s.peakMaxRSS), mb(s.rawPeak) + " (raw PUT loop, VmHWM)", math.NaN(), "-", nil},
			row{w, fmt.Sprintf("floor: the invariants' work alone, no journal, no watcher, files/s (rounds: %s; the daemon ÷ the floor %.2f)", ratios(s.floorRatios), s.daemon/s.floor),
				fmt.Sprintf("%.0f", s.floor), fmt.Sprintf("%.0f (raw PUT loop)", s.raw), s.floorRatio, "-", nil},
			row{w, "floor: CPU per file, floor + sink; its peak VmHWM", fmt.Sprintf("%.0f + %.0f µs; %s", s.floorCPU/float64(o.files)*1e6, s.floorSink/float64(o.files)*1e6, mb(s.floorPeak)),
				fmt.Sprintf("%.0f + %.0f µs (raw PUT loop)", s.rawCPU/float64(o.files)*1e6, s.rawSink/float64(o.files)*1e6), math.NaN(), "-", nil},
			row{w, "beyond the floor: the CPU per file the journal, the watcher and the log cost, sinks included ((daemon + sink) − (floor + sink)), against what 0.7 of the raw loop leaves them when all CPUs are busy ((raw-put + sink) ÷ 0.7 − (floor + sink))",
				fmt.Sprintf("%.0f µs", (s.cpu+s.sink-s.floorCPU-s.floorSink)/float64(o.files)*1e6),
				fmt.Sprintf("%.0f µs (left by 0.7 of raw)", ((s.rawCPU+s.rawSink)/0.7-s.floorCPU-s.floorSink)/float64(o.files)*1e6), math.NaN(), "-", nil},
		)
		return nil
	})
	return out, err
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
	var out []row
	err = b.eachSink(func(rounds int) error {
		rs, err := b.rounds(throughput{name: "big", path: file, settle: o.bigSettle, events: 1, timeout: 10 * time.Minute,
			rate:       func(r rawResult) float64 { return float64(r.Bytes) / 1e6 / r.Seconds },
			daemonRate: func(d time.Duration) float64 { return float64(o.big) / 1e6 / d.Seconds() }}, rounds)
		if err != nil {
			return err
		}
		s := summarize(rs)
		w := "one file of " + size(o.big) + ", " + b.sinkLabel()
		const rssLimit = 64e6
		target, pass := "≥ 0.9", verdict(s.ratio >= 0.9)
		if b.sink == sinkDisk {
			target, pass = "-", nil
		}
		out = append(out,
			row{w, fmt.Sprintf("MB/s, quiet period's end → event accepted (rounds: %s; ratio of the medians %.2f)", ratios(s.ratios), s.daemon/s.raw),
				fmt.Sprintf("%.1f", s.daemon), fmt.Sprintf("%.1f (raw streaming PUT)", s.raw), s.ratio, target, pass},
			row{w, fmt.Sprintf("MB/s, drop → event accepted, the %s settle included (rounds: %s)", o.bigSettle, ratios(s.droppedRatios)),
				fmt.Sprintf("%.1f", s.dropped), fmt.Sprintf("%.1f (raw streaming PUT)", s.raw), s.droppedRatio, "-", nil},
			row{w, "sink share: raw to the sink ÷ raw to a null server", fmt.Sprintf("%.1f", s.raw), fmt.Sprintf("%.1f (raw to null)", s.null),
				s.raw / s.null, "-", nil},
			row{w, "CPU per GB (user + system, the daemon's whole life)", fmt.Sprintf("%.2f s", s.cpu/(float64(o.big)/1e9)), "-", math.NaN(), "-", nil},
			row{w, fmt.Sprintf("CPU per GB with the sink's: (raw-put + sink) ÷ (daemon + sink) (rounds: %s)", ratios(s.cpuRatios)),
				fmt.Sprintf("%.2f + %.2f s", s.cpu/(float64(o.big)/1e9), s.sink/(float64(o.big)/1e9)),
				fmt.Sprintf("%.2f + %.2f s (raw streaming PUT)", s.rawCPU/(float64(o.big)/1e9), s.rawSink/(float64(o.big)/1e9)), s.cpuRatio, "-", nil},
			row{w, "peak RSS of any round: VmHWM / rusage maxrss", mb(s.peakHWM) + " / " + mb(s.peakMaxRSS), mb(s.rawPeak) + " (raw streaming PUT, VmHWM)",
				math.NaN(), "< 64 MB", verdict(s.peakHWM < rssLimit && s.peakMaxRSS < rssLimit)},
		)
		return nil
	})
	return out, err
}

// eachSink runs f with the memory sandbox for --rounds rounds, then with the unhashed memory
// sandbox for --unhashed-rounds and the disk sandbox for --disk-rounds (none when 0).
func (b *bench) eachSink(f func(rounds int) error) error {
	defer func() { b.sink = sinkMemory }()
	for _, s := range []struct {
		sink
		rounds int
	}{{sinkMemory, b.opts.rounds}, {sinkUnhashed, b.opts.unhashedRounds}, {sinkDisk, b.opts.diskRounds}} {
		if s.rounds == 0 {
			continue
		}
		b.sink = s.sink
		if err := f(s.rounds); err != nil {
			return err
		}
	}
	return nil
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
