package ondisk

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher/beneath"
)

// record writes content to a file and returns it open with the record of its version.
func record(t *testing.T, content string) (*os.File, *journal.Record) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "a.txt")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	fi, err := beneath.Fstat(f)
	if err != nil {
		t.Fatal(err)
	}
	v := VersionOf(fi)
	return f, &journal.Record{Kind: v.Kind, Size: v.Size, ModTime: v.ModTime, CTime: v.Change, Birth: v.Birth, Inode: v.Inode, Dev: v.Dev}
}

func sum(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func TestIdentifyHashesAndSniffs(t *testing.T) {
	f, r := record(t, "%PDF-1.7\nhello")
	got, mime, err := Identify(f, r.Size)
	if err != nil || got != sum("%PDF-1.7\nhello") || mime != "application/pdf" {
		t.Fatalf("Identify: %s %s %v", got, mime, err)
	}
	if err := SameVersion(f, r); err != nil {
		t.Fatalf("unchanged file: %v", err)
	}
}

// The verifying reader releases the last bytes only if they hash to the key's SHA-256.
func TestVerifyingReaderRefusesOtherBytes(t *testing.T) {
	f, r := record(t, "the archived bytes")
	v := NewVerifyingReader(f, r, sum("the archived bytes"))
	if b, err := io.ReadAll(v); err != nil || string(b) != "the archived bytes" || v.Verdict() != nil {
		t.Fatalf("matching bytes: %q, %v, verdict %v", b, err, v.Verdict())
	}
	v = NewVerifyingReader(f, r, sum("other bytes"))
	if _, err := io.ReadAll(v); !errors.Is(err, ErrChanged) || !errors.Is(v.Verdict(), ErrChanged) {
		t.Fatalf("other bytes: %v, verdict %v", err, v.Verdict())
	}
}

func TestChangedFromNamesTheChange(t *testing.T) {
	f, r := record(t, "v1")
	fi, err := beneath.Fstat(f)
	if err != nil {
		t.Fatal(err)
	}
	grown := *r
	grown.Size = 99
	if err := ChangedFrom(VersionOf(fi), &grown); !errors.Is(err, ErrChanged) {
		t.Fatalf("other size: %v", err)
	}
}

// ReadSmall returns the whole file with its hash and type, and refuses a file that is not
// the size its record says: grown (the extra byte read shows it) or shrunk.
func TestReadSmall(t *testing.T) {
	f, r := record(t, "%PDF-1.7 a small report")
	data, got, mime, err := ReadSmall(f, r.Size)
	if err != nil || string(data) != "%PDF-1.7 a small report" || got != sum("%PDF-1.7 a small report") || mime != "application/pdf" {
		t.Fatalf("ReadSmall: %q %s %s %v", data, got, mime, err)
	}
	for _, size := range []int64{r.Size - 1, r.Size + 1} {
		if _, _, _, err := ReadSmall(f, size); !errors.Is(err, ErrChanged) {
			t.Errorf("file of %d bytes read as %d: %v, want ErrChanged", r.Size, size, err)
		}
	}
	if _, _, _, err := ReadSmall(f, SmallMax+1); err == nil || errors.Is(err, ErrChanged) {
		t.Errorf("a size over SmallMax: %v, want a refusal", err)
	}
	empty, er := record(t, "")
	if data, got, _, err := ReadSmall(empty, er.Size); err != nil || len(data) != 0 || got != sum("") {
		t.Fatalf("empty file: %q %s %v", data, got, err)
	}
}
