package whatsapp

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// genChat writes an Android chat of about lines lines to dir, streaming: messages a few
// seconds apart over many days, every tenth with two continuation lines, some media omitted,
// some identical. It returns the text's name, its size and the number of messages.
func genChat(tb testing.TB, dir string, lines int) (string, int64, int) {
	tb.Helper()
	name := "WhatsApp Chat with Load test.txt"
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	at := time.Date(2021, 1, 1, 8, 0, 0, 0, time.UTC)
	msgs := 0
	for n := 0; n < lines; msgs++ {
		at = at.Add(time.Duration(1+msgs%7) * time.Second * 9)
		who := fmt.Sprintf("Person %d", msgs%40)
		if msgs%13 == 0 {
			who = fmt.Sprintf("+44 7700 9%05d", msgs%50)
		}
		stamp := at.Format("02/01/2006, 15:04")
		switch {
		case msgs%10 == 0:
			fmt.Fprintf(w, "%s - %s: Message %d with a first line\nand a second line for the record\n12/01/2021 looks like a date but continues\n", stamp, who, msgs)
			n += 3
		case msgs%17 == 0:
			fmt.Fprintf(w, "%s - %s: <Media omitted>\n", stamp, who)
			n++
		case msgs%29 == 0:
			fmt.Fprintf(w, "%s - %s: ok\n%s - %s: ok\n", stamp, who, stamp, who)
			n += 2
			msgs++
		default:
			fmt.Fprintf(w, "%s - %s: Message %d: the quick brown fox jumps over the lazy dog, as agreed on the call\n", stamp, who, msgs)
			n++
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return name, fi.Size(), msgs
}

// TestMemoryBounded: a generated 1,000,000-line chat (200,000 under the race detector) is
// read with the live heap a small fraction of the text, because the text is streamed twice
// and only one batch of events is held at a time.
func TestMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a 1,000,000-line chat")
	}
	lines := 1_000_000
	if raceEnabled {
		lines = 200_000
	}
	dir := t.TempDir()
	name, size, want := genChat(t, dir, lines)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	began := time.Now()
	c, err := OpenText(os.DirFS(dir), name, Options{Location: time.UTC, Limits: Limits{MaxBatch: 2000}})
	if err != nil {
		t.Fatal(err)
	}
	opened := time.Since(began)
	var peak uint64
	n, visits := 0, 0
	err = c.Walk(context.Background(), func(b *Batch) error {
		n += len(b.Events)
		if visits++; visits%20 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	elapsed := time.Since(began)
	if err != nil {
		t.Fatal(err)
	}
	if n != want || c.Messages() != want {
		t.Fatalf("%d events, Open counted %d, want %d", n, c.Messages(), want)
	}
	grown := int64(peak) - int64(base)
	t.Logf("%d lines, %d messages, %d MiB of text: %.0f messages/s (Open %v, both passes %v), peak heap %+.1f MiB over the start",
		lines, n, size>>20, float64(n)/elapsed.Seconds(), opened.Round(time.Millisecond), elapsed.Round(time.Millisecond), float64(grown)/(1<<20))
	// a batch of 2,000 events is about 1 MiB; holding the chat would take its size several times
	if size < int64(lines)*40 || grown > 24<<20 {
		t.Fatalf("heap grew by %d bytes for %d bytes of text: not bounded", grown, size)
	}
}

func BenchmarkWalk(b *testing.B) {
	dir := b.TempDir()
	name, _, _ := genChat(b, dir, 200_000)
	n := 0
	for b.Loop() {
		c, err := OpenText(os.DirFS(dir), name, Options{Location: time.UTC})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Walk(context.Background(), func(bt *Batch) error { n += len(bt.Events); return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}
