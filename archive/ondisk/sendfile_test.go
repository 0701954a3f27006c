package ondisk

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/archivist-project/archivist/watcher/beneath"
)

// loopback returns the client end of a loopback TCP connection and a channel that yields
// everything the server end received once the client closes.
func loopback(t *testing.T) (*net.TCPConn, <-chan []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		got <- b
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn), got
}

// rewriteInPlace overwrites the start of the file with other bytes and sets its mtime back:
// size and mtime are as recorded, only the change time tells. It first waits until the clock
// has moved past the recorded change time, as any real rewrite after a settle has.
func rewriteInPlace(t *testing.T, path string, was time.Time) {
	t.Helper()
	probe := filepath.Join(t.TempDir(), "clock")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := os.WriteFile(probe, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(probe)
		if err != nil {
			t.Fatal(err)
		}
		if beneath.ChangeTime(fi).After(was) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the file system's change time does not move")
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte("Z"), 4096), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
}

func TestBodySendToGoesThroughTheKernelAndDeliversTheFile(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789abcdef"), 65<<10)[:1<<20+123]
	f, r := record(t, string(content))
	conn, got := loopback(t)
	b := NewBody(f, r, sum(string(content)))
	n, err := b.SendTo(conn, r.Size)
	if err != nil || n != r.Size {
		t.Fatalf("SendTo: %d bytes, %v", n, err)
	}
	conn.Close()
	if recv := <-got; !bytes.Equal(recv, content) {
		t.Fatalf("received %d bytes, not the file's %d", len(recv), len(content))
	}
	if k := b.KernelSent(); k != r.Size-HeldTail {
		t.Fatalf("%d bytes went through sendfile, want all but the held tail (%d)", k, r.Size-HeldTail)
	}
	if b.Verdict() != nil {
		t.Fatalf("verdict %v", b.Verdict())
	}
}

// After the first bytes went through Read (net/http fills its buffer that way), SendTo sends
// the rest from where Read stopped.
func TestBodyReadThenSendTo(t *testing.T) {
	content := bytes.Repeat([]byte("abc"), 100_000)
	f, r := record(t, string(content))
	conn, got := loopback(t)
	b := NewBody(f, r, sum(string(content)))
	head := make([]byte, 3000)
	if n, err := b.Read(head); n != len(head) || err != nil {
		t.Fatalf("Read: %d, %v", n, err)
	}
	if _, err := conn.Write(head); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SendTo(conn, r.Size-int64(len(head))); err != nil {
		t.Fatalf("SendTo: %v", err)
	}
	conn.Close()
	if recv := <-got; !bytes.Equal(recv, content) {
		t.Fatalf("received %d bytes, not the file", len(recv))
	}
}

// A rewrite that keeps size and mtime, made after the file was hashed: the kernel sends the
// new bytes of the head, but the held-back tail never goes out, so the request stays short of
// its Content-Length and the archive stores nothing under the key.
func TestBodySendToHoldsTheTailOfARewrittenFile(t *testing.T) {
	content := bytes.Repeat([]byte("x"), 512<<10)
	f, r := record(t, string(content))
	rewriteInPlace(t, f.Name(), r.CTime)
	conn, got := loopback(t)
	b := NewBody(f, r, sum(string(content)))
	n, err := b.SendTo(conn, r.Size)
	if !errors.Is(err, ErrChanged) || !errors.Is(b.Verdict(), ErrChanged) {
		t.Fatalf("SendTo of a rewritten file: %v, verdict %v", err, b.Verdict())
	}
	conn.Close()
	recv := <-got
	if int64(len(recv)) != n || n >= r.Size {
		t.Fatalf("received %d bytes (SendTo said %d) of %d: the tail went out", len(recv), n, r.Size)
	}
}

// Through Read alone (a TLS connection), every byte is hashed: other bytes are refused even
// when the file's identity is unchanged.
func TestBodyReadRefusesOtherBytes(t *testing.T) {
	f, r := record(t, "the archived bytes")
	b := NewBody(f, r, sum("the archived bytes"))
	if got, err := io.ReadAll(b); err != nil || string(got) != "the archived bytes" || b.Verdict() != nil {
		t.Fatalf("matching bytes: %q, %v, verdict %v", got, err, b.Verdict())
	}
	b = NewBody(f, r, sum("other bytes"))
	if _, err := io.ReadAll(b); !errors.Is(err, ErrChanged) || !errors.Is(b.Verdict(), ErrChanged) {
		t.Fatalf("other bytes: %v, verdict %v", err, b.Verdict())
	}
}

// A rewrite in the middle of the kernel's send: the receiver stops reading after the first
// MiB (the sender then waits on a full socket) while the file is rewritten in place, keeping
// size and mtime; the tail is still held back and the request ends short.
func TestBodySendToHoldsTheTailOfAFileRewrittenMidSend(t *testing.T) {
	content := bytes.Repeat([]byte("y"), 32<<20)
	f, r := record(t, string(content))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	paused, resume := make(chan struct{}), make(chan struct{})
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer c.Close()
		n, _ := io.CopyN(io.Discard, c, 1<<20)
		close(paused)
		<-resume
		m, _ := io.Copy(io.Discard, c)
		got <- n + m
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sent := make(chan error, 1)
	b := NewBody(f, r, sum(string(content)))
	go func() {
		_, err := b.SendTo(conn.(*net.TCPConn), r.Size)
		conn.Close()
		sent <- err
	}()
	<-paused
	rewriteInPlace(t, f.Name(), r.CTime)
	close(resume)
	if err := <-sent; !errors.Is(err, ErrChanged) {
		t.Fatalf("SendTo of a file rewritten mid-send: %v", err)
	}
	if n := <-got; n >= r.Size {
		t.Fatalf("the receiver got all %d bytes: the tail went out", n)
	}
}
