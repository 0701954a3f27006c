package slack

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// genExport writes an export of channels × days × perDay messages to a file, streaming, and
// returns its path and the uncompressed bytes of its day files.
func genExport(tb testing.TB, dir string, channels, days, perDay int) (string, int64) {
	tb.Helper()
	p := filepath.Join(dir, "generated.zip")
	f, err := os.Create(p)
	if err != nil {
		tb.Fatal(err)
	}
	zw := zip.NewWriter(f)
	put := func(name string, v any) int64 {
		w, err := zw.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		b, err := json.MarshalIndent(v, "", "    ")
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			tb.Fatal(err)
		}
		return int64(len(b))
	}
	var users, chans arr
	for i := range 200 {
		users = append(users, obj{"id": fmt.Sprintf("U%05d", i), "team_id": team, "name": fmt.Sprintf("user%d", i),
			"profile": obj{"real_name": fmt.Sprintf("User Number %d", i), "email": fmt.Sprintf("user%d@example.com", i)}})
	}
	for c := range channels {
		chans = append(chans, obj{"id": fmt.Sprintf("C%05d", c), "name": fmt.Sprintf("channel-%d", c)})
	}
	put("users.json", users)
	put("channels.json", chans)
	var total int64
	start := time.Date(2023, 1, 1, 9, 0, 0, 0, time.UTC)
	for c := range channels {
		for d := range days {
			day := start.AddDate(0, 0, d)
			msgs := make(arr, 0, perDay)
			for m := range perDay {
				sec := day.Unix() + int64(m*30)
				msg := obj{"type": "message", "user": fmt.Sprintf("U%05d", (c*7+m)%200), "ts": fmt.Sprintf("%d.%06d", sec, m),
					"text":          fmt.Sprintf("Message %d of day %d in channel %d, for <@U%05d>: see <https://example.com/doc/%d|doc %d> &amp; reply", m, d, c, m%200, m, m),
					"client_msg_id": fmt.Sprintf("%08x-0000-4000-8000-%012x", c*100000+d*1000+m, m)}
				if m%10 == 1 {
					msg["thread_ts"] = fmt.Sprintf("%d.%06d", sec-30, m-1)
					msg["parent_user_id"] = fmt.Sprintf("U%05d", (c*7+m-1)%200)
				}
				if m%25 == 0 {
					msg["edited"] = obj{"user": msg["user"], "ts": fmt.Sprintf("%d.000000", sec+5)}
					msg["reactions"] = arr{obj{"name": "eyes", "users": arr{"U00001", "U00002"}, "count": 2}}
				}
				msgs = append(msgs, msg)
			}
			total += put(fmt.Sprintf("channel-%d/%s.json", c, day.Format("2006-01-02")), msgs)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return p, total
}

func openFile(tb testing.TB, p string) *Export {
	tb.Helper()
	f, err := os.Open(p)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	fi, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	x, err := Open(f, fi.Size(), "generated.zip", Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return x
}

// TestMemoryBounded: 100,000 messages in 50 channels (20,000 under the race detector); the live heap during the walk stays a
// small fraction of the export's JSON, because only one day file is held at a time.
func TestMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a 100,000-message export")
	}
	channels, days, perDay := 50, 20, 100
	minJSON := int64(30 << 20)
	if raceEnabled { // ten times slower: a fifth of the size proves the same
		days, minJSON = 4, 6<<20
	}
	p, jsonBytes := genExport(t, t.TempDir(), channels, days, perDay)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	x := openFile(t, p)
	var peak uint64
	n, visits := 0, 0
	began := time.Now()
	err := x.Walk(context.Background(), func(d *Day) error {
		n += len(d.Events)
		if visits++; visits%25 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	elapsed := time.Since(began)
	if err != nil {
		t.Fatal(err)
	}
	if n != channels*days*perDay {
		t.Fatalf("%d messages, want %d", n, channels*days*perDay)
	}
	grown := int64(peak) - int64(base)
	t.Logf("%d messages, %d MiB of day-file JSON, %.0f messages/s, peak heap %+.1f MiB over the start",
		n, jsonBytes>>20, float64(n)/elapsed.Seconds(), float64(grown)/(1<<20))
	// one day file is about 60 KiB here; GC slack and the users map stay well under 16 MiB,
	// while holding the export's JSON would take its whole size and more.
	if jsonBytes < minJSON || grown > 16<<20 {
		t.Fatalf("heap grew by %d bytes for %d bytes of JSON: not bounded by one day file", grown, jsonBytes)
	}
}

func BenchmarkWalk(b *testing.B) {
	const channels, days, perDay = 50, 20, 100
	p, _ := genExport(b, b.TempDir(), channels, days, perDay)
	b.ResetTimer()
	n := 0
	for b.Loop() {
		x := openFile(b, p)
		if err := x.Walk(context.Background(), func(d *Day) error { n += len(d.Events); return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}
