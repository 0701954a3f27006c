package archive

// Benchmarks of the pipeline's CPU-bound pieces. The file is in the page cache after the first
// read, so these measure hashing and detection, not the disk.

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gabriel-vasile/mimetype"

	"github.com/archivist-project/archivist/archive/ondisk"
	"github.com/archivist-project/archivist/journal"
)

const benchFileSize = 64 << 20

// benchFile writes size pseudo-random bytes (incompressible, no recognizable magic) once.
func benchFile(b *testing.B, size int) *os.File {
	b.Helper()
	p := filepath.Join(b.TempDir(), "payload.bin")
	buf := make([]byte, 1<<20)
	rng := rand.NewChaCha8([32]byte{1})
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	for left := size; left > 0; left -= len(buf) {
		rng.Read(buf)
		if _, err := f.Write(buf[:min(left, len(buf))]); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	f, err = os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}

// BenchmarkIdentify64MiB is identify() as upload calls it: SHA-256 of every byte plus MIME
// detection of the first 3 KiB, reading the file once.
func BenchmarkIdentify64MiB(b *testing.B) {
	f := benchFile(b, benchFileSize)
	b.SetBytes(benchFileSize)
	for b.Loop() {
		if _, _, err := ondisk.Identify(f, benchFileSize); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSHA256Only64MiB is the floor identify() cannot beat: reading and hashing the same
// file with nothing else.
func BenchmarkSHA256Only64MiB(b *testing.B) {
	f := benchFile(b, benchFileSize)
	b.SetBytes(benchFileSize)
	for b.Loop() {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(f, 0, benchFileSize)); err != nil {
			b.Fatal(err)
		}
		_ = h.Sum(nil)
	}
}

// BenchmarkMIMEDetect is the detection part alone, on heads of common export formats.
func BenchmarkMIMEDetect(b *testing.B) {
	heads := map[string][]byte{
		"text":   []byte("2024-06-01 12:00:01 alice: hello\n2024-06-01 12:00:05 bob: hi\n"),
		"pdf":    []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"),
		"json":   []byte(`{"messages":[{"from":"alice","text":"hello"}]}`),
		"binary": make([]byte, ondisk.SniffLen),
	}
	rand.NewChaCha8([32]byte{2}).Read(heads["binary"])
	for name, head := range heads {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				_ = mimetype.Detect(head).String()
			}
		})
	}
}

// BenchmarkPostEncode100 builds and encodes one full request of 100 File_transfer events as
// post() does before sending it (PostConversation encodes it once more).
func BenchmarkPostEncode100(b *testing.B) {
	p := New(nil, nil, Options{ConversationType: "bench"})
	w := Watch{Name: "teams", SenderName: "Teams export", SenderEmail: "archive@example.com", InlineImages: true}
	now := time.Now()
	recs := make([]*journal.Record, 100)
	for i := range recs {
		name := fmt.Sprintf("exports/2024-06/file-%05d.txt", i)
		recs[i] = &journal.Record{ID: uint64(i + 1), Watch: "teams", Path: journal.RelPath(name), Kind: "file",
			ModTime: now.Add(-time.Hour), DiscoveredAt: now, MIME: "text/plain; charset=utf-8",
			FileKey: fmt.Sprintf("default/teams/%064x/file-%05d.txt", i, i), State: journal.Uploaded}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(p.conversation(w, recs)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "events/s")
}
