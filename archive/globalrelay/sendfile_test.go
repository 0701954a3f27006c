package globalrelay_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/archivist-project/archivist/archive/sandbox"
)

// kernelBody stands in for ondisk.Body: Read for the first bytes, SendTo for the rest.
type kernelBody struct {
	r     *bytes.Reader
	sends atomic.Int32
	fail  error // SendTo writes half of what is asked, then fails with it
}

func (b *kernelBody) Read(p []byte) (int, error) { return b.r.Read(p) }
func (b *kernelBody) Close() error               { return nil }

func (b *kernelBody) SendTo(s interface {
	syscall.Conn
	io.Writer
}, n int64) (int64, error) {
	b.sends.Add(1)
	if _, err := s.SyscallConn(); err != nil {
		return 0, err
	}
	if b.fail != nil {
		m, _ := io.CopyN(s, b.r, n/2)
		return m, b.fail
	}
	return io.CopyN(s, b.r, n)
}

// A body that can send itself through the kernel is handed the socket on a plain connection.
func TestPutFileHandsTheSocketToAKernelSender(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	data := randomBytes(t, 2<<20+5)
	body := &kernelBody{r: bytes.NewReader(data)}
	key := "default/teams/cd34/big.bin"
	err := e.c.PutFile(t.Context(), key, "application/octet-stream", int64(len(data)), func() (io.ReadCloser, error) {
		return body, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if body.sends.Load() != 1 {
		t.Fatalf("SendTo called %d times: the body went through Read only", body.sends.Load())
	}
	if b, err := os.ReadFile(e.s.FilePath(key)); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("stored bytes differ (%d of %d), %v", len(b), len(data), err)
	}
}

// A body that refuses its tail cuts the request short: PutFile fails and nothing is stored.
func TestPutFileRefusedTailStoresNothing(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	data := randomBytes(t, 1<<20)
	refused := errors.New("file changed")
	body := &kernelBody{r: bytes.NewReader(data), fail: refused}
	key := "default/teams/ef56/changed.bin"
	err := e.c.PutFile(t.Context(), key, "application/octet-stream", int64(len(data)), func() (io.ReadCloser, error) {
		return body, nil
	})
	if !errors.Is(err, refused) {
		t.Fatalf("PutFile: %v, want the body's error", err)
	}
	if f, ok := e.s.File(key); ok {
		t.Fatalf("stored %+v from a request cut short", f)
	}
}
