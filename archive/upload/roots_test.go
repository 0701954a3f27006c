package upload

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// A root is opened once for the uploads in flight from it, and closed when the last of them
// releases it; a failed open releases it at once.
func TestRootsAreHeldWhileInUse(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.txt", "b.txt"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var rs roots
	fa, releaseA, err := rs.open(dir, "a.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer fa.Close()
	fb, releaseB, err := rs.open(dir, "b.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	if n := len(rs.held); n != 1 || rs.held[dir].users != 2 {
		t.Fatalf("%d roots held (%+v), want one with two users", n, rs.held[dir])
	}
	if _, _, err := rs.open(dir, "missing.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("open of a missing file: %v", err)
	}
	if u := rs.held[dir].users; u != 2 {
		t.Fatalf("a failed open left %d users, want 2", u)
	}
	if err := releaseA(); err != nil {
		t.Fatal(err)
	}
	if err := releaseB(); err != nil {
		t.Fatal(err)
	}
	if len(rs.held) != 0 {
		t.Fatalf("roots still held after the last release: %+v", rs.held)
	}
	if b, err := os.ReadFile(fb.Name()); err != nil || string(b) != "b.txt" {
		t.Fatalf("file opened through the held root: %q %v", b, err)
	}
}
