package main

// The export workloads (issues 14 and 15): a chat export dropped as it is into a transcripts
// watch, archived as conversation events. Each generates its export once (outside the inbox),
// starts the daemon, renames the export into the inbox and waits until the sandbox accepted
// at least one event per message. Measured from outside: messages per second from the rename
// to the last accepted event, peak RSS (VmHWM while it runs, maxrss from wait4) and CPU per
// message. There is no raw baseline: no other tool turns these exports into Global Relay
// events; the rate is stated, the memory judged.

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"
)

// exportRSSLimit is the bound on peak RSS while an export is archived.
const exportRSSLimit = 150e6

// exportWorkload is one format: how to write its export and configure its watch.
type exportWorkload struct {
	name     string // workload name, and the name of the export's folder
	file     string // the export's file name in the inbox
	messages int
	extra    string // watch keys beyond mode: transcripts and timezone
	write    func(path string) error
}

func (b *bench) slack() ([]row, error) {
	o := b.opts
	return b.exportRun(exportWorkload{name: "slack", file: "workspace-export.zip", messages: o.slackMessages,
		write: func(p string) error { return writeSlackExport(p, o.slackMessages, o.slackChannels, o.slackFiles) }})
}

func (b *bench) whatsapp() ([]row, error) {
	n := b.opts.chatMessages
	return b.exportRun(exportWorkload{name: "whatsapp", file: "WhatsApp Chat - Bench desk.zip", messages: n,
		extra: "    date_order: dmy\n",
		write: func(p string) error { return writeWhatsAppExport(p, n) }})
}

func (b *bench) teams() ([]row, error) {
	n := b.opts.chatMessages
	return b.exportRun(exportWorkload{name: "teams", file: "desk-chat.teams.json", messages: n,
		write: func(p string) error { return writeTeamsExport(p, n) }})
}

// exportRun archives the export of w once and reports its rows.
func (b *bench) exportRun(w exportWorkload) ([]row, error) {
	dir, srv, cfg, cleanup, err := b.setup(w.name, b.opts.settle)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	// Every transcripts watch names its time zone, as an operator's would: without one the
	// daemon warns at start (a WhatsApp export would be held), and the bench reports warnings.
	if err := rewriteConfig(cfg, "    scan_interval: 1h\n", "    scan_interval: 1h\n    mode: transcripts\n    timezone: Europe/Berlin\n"+w.extra); err != nil {
		return nil, err
	}
	src := filepath.Join(dir, w.file)
	t := time.Now()
	if err := w.write(src); err != nil {
		return nil, fmt.Errorf("write the export: %w", err)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	b.log("%s: wrote an export of %d messages (%s) in %s", w.name, w.messages, size(fi.Size()), since(t))
	quiesce()
	d, err := b.startReady(cfg)
	if err != nil {
		return nil, err
	}
	defer d.kill()
	start := time.Now()
	if err := os.Rename(src, filepath.Join(dir, "inbox", w.file)); err != nil {
		return nil, err
	}
	last, err := srv.awaitEvents(w.messages, 2*time.Hour, d)
	if err != nil {
		return nil, err
	}
	if n := d.problems(); n > 0 {
		b.log("%s: the daemon logged %d warnings or errors:\n%s", w.name, n, d.problemLines())
	}
	cost, err := d.stop()
	if err != nil {
		return nil, err
	}
	took := last.Sub(start)
	rate := float64(w.messages) / took.Seconds()
	b.log("%s: %d messages in %.1fs: %.0f messages/s (%s)", w.name, w.messages, took.Seconds(), rate, cost)
	label := fmt.Sprintf("%s export, %d messages (%s)", w.name, w.messages, size(fi.Size()))
	return []row{
		{label, "messages/s, drop → last event accepted", fmt.Sprintf("%.0f", rate), "-", math.NaN(), "stated", nil},
		{label, "CPU per 1,000 messages", fmt.Sprintf("%.3f s", cost.CPU/float64(w.messages)*1000), "-", math.NaN(), "-", nil},
		{label, "peak RSS: VmHWM / maxrss", mb(cost.HWM) + " / " + mb(cost.MaxRSS), "-", math.NaN(), "< 150 MB",
			verdict(cost.HWM < exportRSSLimit && cost.MaxRSS < exportRSSLimit)},
	}, nil
}

// zipWriter is a ZIP being written to a file, one deflated entry at a time.
type zipWriter struct {
	f  *os.File
	bw *bufio.Writer
	zw *zip.Writer
}

func newZip(path string) (*zipWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	return &zipWriter{f: f, bw: bw, zw: zip.NewWriter(bw)}, nil
}

// entry starts an entry; write to the returned writer until the next entry or close.
func (z *zipWriter) entry(name string) (io.Writer, error) {
	return z.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)})
}

// json writes v as the whole entry name.
func (z *zipWriter) json(name string, v any) error {
	w, err := z.entry(name)
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(v)
}

func (z *zipWriter) close() error {
	err := z.zw.Close()
	if err == nil {
		err = z.bw.Flush()
	}
	if cerr := z.f.Close(); err == nil {
		err = cerr
	}
	return err
}
