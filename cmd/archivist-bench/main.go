// Command archivist-bench runs the performance workloads of docs/benchmarks.md: the real
// archivist binary against the sandbox (in this process, on loopback), each figure next to a
// baseline that does only the raw work, measured in the same run. It prints a Markdown table.
//
// Every workload can be scaled down with flags; "make bench-quick" runs them all small.
// Peak RSS is taken from outside the measured process: /proc/<pid>/status VmHWM, read while the
// process still runs (the daemon's just before SIGTERM, the raw baseline's once it reported).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	binary          string
	work            string
	keep            bool
	check           bool
	only            string
	workers         int
	rounds          int
	diskRounds      int
	unhashedRounds  int
	sandboxDir      string
	settle          time.Duration
	bigSettle       time.Duration
	files           int
	fileSize        int
	big             int64
	latencyFiles    int
	latencyInterval time.Duration
	rescanFiles     int
	rescanPerDir    int
	journalRecords  int
	scaleFiles      int
	slackMessages   int
	slackChannels   int
	slackFiles      int
	chatMessages    int
}

// workloads in the order they run.
var workloads = []struct {
	name string
	run  func(*bench) ([]row, error)
}{
	{"small", (*bench).small},
	{"big", (*bench).big},
	{"latency", (*bench).latency},
	{"rescan", (*bench).rescan},
	{"startup", (*bench).startup},
	{"scale", (*bench).scale}, // only with --only scale: make bench-scale
	{"slack", (*bench).slack},
	{"whatsapp", (*bench).whatsapp},
	{"teams", (*bench).teams},
}

// children are the bench's own child processes, started as "archivist-bench NAME ARGS...":
// the launcher of measured processes (spawn.go) and the baselines (rawput.go, floor.go).
var children = map[string]func(args []string) error{
	"spawn":     spawnCommand,
	"raw-put":   rawPutCommand,
	"floor-put": floorPutCommand,
}

// optIn are the workloads that run only when --only names them (make bench-scale).
var optIn = map[string]bool{"scale": true}

func main() {
	if len(os.Args) > 1 {
		if child, ok := children[os.Args[1]]; ok {
			if err := child(os.Args[2:]); err != nil {
				fmt.Fprintf(os.Stderr, "archivist-bench %s: %v\n", os.Args[1], err)
				os.Exit(1)
			}
			return
		}
	}
	o, err := parseOptions(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "archivist-bench:", err)
		os.Exit(2)
	}
	failed, err := run(o, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "archivist-bench:", err)
		os.Exit(1)
	}
	if failed > 0 && o.check {
		fmt.Fprintf(os.Stderr, "archivist-bench: %d figure(s) missed their target\n", failed)
		os.Exit(3)
	}
}

func parseOptions(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("archivist-bench", flag.ContinueOnError)
	fs.StringVar(&o.binary, "binary", "", "archivist binary to measure (default: build ./cmd/archivist into the work folder)")
	fs.StringVar(&o.work, "work", "", "`folder` for the data (default: a new folder in $TMPDIR, removed at the end)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work folder")
	fs.BoolVar(&o.check, "check", false, "exit 3 if a figure misses its target (meaningful at full size only)")
	fs.StringVar(&o.only, "only", "", "comma-separated workloads to run: small,big,latency,rescan,startup,scale,slack,whatsapp,teams (default: all but scale)")
	fs.IntVar(&o.workers, "workers", 4, "daemon workers, and PUTs in flight in the raw baseline")
	fs.IntVar(&o.rounds, "rounds", 5, "small and big files: alternate this many null, raw and daemon runs against the memory sandbox and report the medians")
	fs.IntVar(&o.unhashedRounds, "unhashed-rounds", 5, "small and big files: then this many rounds against the memory sandbox that does not hash bodies (the fastest sink), as rows of their own (0: none)")
	fs.IntVar(&o.diskRounds, "disk-rounds", 1, "small and big files: then this many rounds against the disk sandbox, as rows of their own (0: none)")
	fs.StringVar(&o.sandboxDir, "sandbox-dir", "", "`folder` the sandboxes store into (default: inside the work folder, on the same disk)")
	fs.DurationVar(&o.settle, "settle", 500*time.Millisecond, "the daemon's settle time, in every workload but the large file")
	fs.DurationVar(&o.bigSettle, "big-settle", time.Second, "the daemon's settle time for the large file: long enough to hash it in (issue 13 measured its 900 MB file with 1s; SHA-256 of 1 GiB takes about 0.7s here)")
	fs.IntVar(&o.files, "files", 10_000, "small files: how many")
	fs.IntVar(&o.fileSize, "file-size", 4096, "small files: bytes each")
	bigSize := fs.String("big", "1GiB", "size of the large file (bytes, or with KiB/MiB/GiB)")
	fs.IntVar(&o.latencyFiles, "latency-files", 200, "latency: files dropped one at a time")
	fs.DurationVar(&o.latencyInterval, "latency-interval", 250*time.Millisecond, "latency: time between two drops")
	fs.IntVar(&o.rescanFiles, "rescan-files", 100_000, "rescan: files already archived")
	fs.IntVar(&o.rescanPerDir, "rescan-per-dir", 1000, "rescan: files per folder")
	fs.IntVar(&o.journalRecords, "journal-records", 1_000_000, "start-up: records in the journal")
	fs.IntVar(&o.scaleFiles, "scale-files", 1_000_000, "scale: files in the tree and the journal, all archived")
	fs.IntVar(&o.slackMessages, "slack-messages", 1_000_000, "slack: messages in the generated workspace export")
	fs.IntVar(&o.slackChannels, "slack-channels", 500, "slack: channels they are spread over")
	fs.IntVar(&o.slackFiles, "slack-files", 1000, "slack: messages with a file in __uploads/ (0: none)")
	fs.IntVar(&o.chatMessages, "chat-messages", 200_000, "whatsapp, teams: messages in the generated chat")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if o.big, err = parseSize(*bigSize); err != nil {
		return o, fmt.Errorf("-big: %w", err)
	}
	for _, name := range strings.Split(o.only, ",") {
		if name != "" && !known(name) {
			return o, fmt.Errorf("-only: no workload %q", name)
		}
	}
	switch {
	case o.workers < 1, o.rounds < 1, o.diskRounds < 0, o.unhashedRounds < 0, o.files < 1, o.fileSize < 1, o.big < 1, o.latencyFiles < 1, o.rescanFiles < 1, o.rescanPerDir < 1,
		o.journalRecords < 1, o.scaleFiles < 1, o.settle <= 0, o.bigSettle <= 0, o.slackMessages < 1, o.slackChannels < 1, o.slackFiles < 0, o.chatMessages < 1:
		return o, errors.New("sizes, counts, workers and settle must be positive")
	}
	return o, nil
}

func known(name string) bool {
	for _, w := range workloads {
		if w.name == name {
			return true
		}
	}
	return false
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = v, u.n
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, err
	}
	return n * mult, nil
}

// run runs the selected workloads and prints the table to out, progress to progress. It
// returns how many figures missed their target.
func run(o options, out, progress io.Writer) (failed int, err error) {
	b := &bench{opts: o, log: func(format string, args ...any) {
		fmt.Fprintf(progress, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}}
	if b.self, err = os.Executable(); err != nil {
		return 0, err
	}
	launcher = b.self
	if b.work, err = workFolder(o.work); err != nil {
		return 0, err
	}
	if !o.keep {
		defer os.RemoveAll(b.work)
		defer func() {
			for i := 1; i <= b.sandboxes; i++ {
				os.RemoveAll(b.sandboxPath(i))
			}
		}()
	}
	if b.binary, err = b.archivistBinary(); err != nil {
		return 0, err
	}
	rows, err := b.runWorkloads()
	if err != nil {
		return 0, err
	}
	return printTable(out, o, b.work, rows), nil
}

// workFolder makes the folder for the data: work, or a new folder in $TMPDIR when work is empty.
func workFolder(work string) (string, error) {
	if work == "" {
		return os.MkdirTemp("", "archivist-bench-")
	}
	return work, os.MkdirAll(work, 0o755)
}

// archivistBinary is the binary to measure: --binary, or ./cmd/archivist built into the work folder.
func (b *bench) archivistBinary() (string, error) {
	if b.opts.binary != "" {
		return b.opts.binary, nil
	}
	binary := filepath.Join(b.work, "archivist")
	t := time.Now()
	cmd := exec.Command("go", "build", "-trimpath", "-o", binary, "github.com/archivist-project/archivist/cmd/archivist")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build archivist: %v\n%s", err, msg)
	}
	b.log("built the archivist binary in %s", since(t))
	return binary, nil
}

// runWorkloads runs the workloads --only selects (all but the opt-in ones without it), in order.
func (b *bench) runWorkloads() ([]row, error) {
	o := b.opts
	var rows []row
	for _, w := range workloads {
		if o.only != "" && !strings.Contains(","+o.only+",", ","+w.name+",") || o.only == "" && optIn[w.name] {
			continue
		}
		t := time.Now()
		b.log("%s: start", w.name)
		r, err := w.run(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", w.name, err)
		}
		b.log("%s: done in %s", w.name, since(t))
		rows = append(rows, r...)
	}
	return rows, nil
}

// printTable prints the machine, the settings and the rows as a Markdown table to out, and
// returns how many rows missed their target.
func printTable(out io.Writer, o options, work string, rows []row) (failed int) {
	fmt.Fprintln(out, machine(work))
	fmt.Fprintf(out, "Settle %s (the large file: %s), %d workers (and %d PUTs in flight in the raw baselines); small and big files: median of %d rounds of null, raw and daemon runs (small files: and the floor, the invariants' work without the journal and the watcher) against the memory sandbox, then %d against the memory sandbox that does not hash bodies and %d against the disk sandbox. Ratio: figure ÷ baseline for rates, baseline ÷ figure for times; for small and big files, the median of the rounds' own ratios (each round's runs are seconds apart). Memory is read from outside every measured process: VmHWM from /proc while it runs, maxrss from wait4.\n\n",
		o.settle, o.bigSettle, o.workers, o.workers, o.rounds, o.unhashedRounds, o.diskRounds)
	fmt.Fprintln(out, "| workload | figure | measured | baseline in the same run | ratio | target | result |")
	fmt.Fprintln(out, "| --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range rows {
		ratio, result := "-", "-"
		if !math.IsNaN(r.Ratio) {
			ratio = fmt.Sprintf("%.2f", r.Ratio)
		}
		if r.Pass != nil {
			result = "pass"
			if !*r.Pass {
				result, failed = "FAIL", failed+1
			}
		}
		fmt.Fprintf(out, "| %s | %s | %s | %s | %s | %s | %s |\n", r.Workload, r.Figure, r.Value, r.Baseline, ratio, r.Target, result)
	}
	return failed
}

// machine describes where the run happened, for the record in docs/benchmarks.md.
func machine(work string) string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := "?"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	kernel := "?"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	fsType := "?"
	var st syscall.Statfs_t
	if syscall.Statfs(work, &st) == nil {
		fsType = map[int64]string{0xEF53: "ext4", 0x01021994: "tmpfs", 0x58465342: "xfs", 0x9123683E: "btrfs", 0x794C7630: "overlayfs"}[int64(st.Type)]
		if fsType == "" {
			fsType = fmt.Sprintf("0x%x", st.Type)
		}
	}
	return fmt.Sprintf("Machine: %d CPUs (%s), %s RAM, Linux %s, %s, data on %s; %s.",
		runtime.NumCPU(), cpu, mem, kernel, runtime.Version(), fsType, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
}
