package journald

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Socket is where journald listens for native-protocol datagrams.
const Socket = "/run/systemd/journal/socket"

// Writer sends each payload a Formatter made to journald as one datagram (a sealed memfd when
// it is too big for one), so it must be the logger's output whenever Formatter is its
// formatter. When journald cannot be reached, it writes the entry to Fallback as one line
// with the "<N>" priority prefix instead, and returns an error only if that fails too.
//
// A Writer is safe for concurrent use.
type Writer struct {
	socket   string
	fallback io.Writer

	mu sync.Mutex
	fd int // the unbound datagram socket; -1 until the first Write
}

// NewWriter returns a Writer to journald's Socket that falls back to fallback, normally the
// standard error that IsStream found connected to the journal.
func NewWriter(fallback io.Writer) *Writer { return newWriter(Socket, fallback) }

func newWriter(socket string, fallback io.Writer) *Writer {
	return &Writer{socket: socket, fallback: fallback, fd: -1}
}

// Write sends one payload; see Writer.
func (w *Writer) Write(p []byte) (int, error) {
	err := w.send(p)
	if err == nil {
		return len(p), nil
	}
	line, perr := fallbackLine(p)
	if perr != nil {
		return 0, fmt.Errorf("journald: %w; and the entry is not a journal payload: %w", err, perr)
	}
	if _, ferr := io.WriteString(w.fallback, line); ferr != nil {
		return 0, fmt.Errorf("journald: %w; fallback: %w", err, ferr)
	}
	return len(p), nil
}

// Close releases the socket. Writes after Close open a new one.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd < 0 {
		return nil
	}
	err := unix.Close(w.fd)
	w.fd = -1
	return err
}

func (w *Writer) send(p []byte) error {
	fd, err := w.socketFD()
	if err != nil {
		return err
	}
	to := &unix.SockaddrUnix{Name: w.socket}
	err = unix.Sendmsg(fd, p, nil, to, 0)
	if errors.Is(err, unix.EMSGSIZE) || errors.Is(err, unix.ENOBUFS) {
		return sendMemfd(fd, to, p)
	}
	if err != nil {
		return fmt.Errorf("send to %s: %w", w.socket, err)
	}
	return nil
}

func (w *Writer) socketFD() (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd < 0 {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return -1, fmt.Errorf("socket: %w", err)
		}
		w.fd = fd
	}
	return w.fd, nil
}

// sendMemfd passes p in a sealed memfd: journald reads an entry of any size from a file
// descriptor sent with an empty datagram, provided nobody can change the file any more.
func sendMemfd(fd int, to unix.Sockaddr, p []byte) error {
	mfd, err := unix.MemfdCreate("journal-entry", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return fmt.Errorf("entry of %d bytes: memfd: %w", len(p), err)
	}
	defer unix.Close(mfd)
	for rest := p; len(rest) > 0; {
		n, err := unix.Write(mfd, rest)
		if err != nil {
			return fmt.Errorf("entry of %d bytes: write memfd: %w", len(p), err)
		}
		rest = rest[n:]
	}
	seals := unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE | unix.F_SEAL_SEAL
	if _, err := unix.FcntlInt(uintptr(mfd), unix.F_ADD_SEALS, seals); err != nil {
		return fmt.Errorf("entry of %d bytes: seal memfd: %w", len(p), err)
	}
	if err := unix.Sendmsg(fd, nil, unix.UnixRights(mfd), to, 0); err != nil {
		return fmt.Errorf("entry of %d bytes: send memfd: %w", len(p), err)
	}
	return nil
}

// Field is one field of a native-protocol payload.
type Field struct{ Name, Value string }

// Parse splits a native-protocol payload into its fields, in order.
func Parse(p []byte) ([]Field, error) {
	var out []Field
	for len(p) > 0 {
		line, rest, ok := bytes.Cut(p, []byte{'\n'})
		if !ok {
			return nil, fmt.Errorf("field %d: no line break at its end", len(out))
		}
		if name, value, ok := bytes.Cut(line, []byte{'='}); ok {
			out = append(out, Field{string(name), string(value)})
			p = rest
			continue
		}
		if len(rest) < 8 {
			return nil, fmt.Errorf("field %s: no length", line)
		}
		n := binary.LittleEndian.Uint64(rest[:8])
		rest = rest[8:]
		if n >= uint64(len(rest)) || rest[n] != '\n' {
			return nil, fmt.Errorf("field %s: length %d does not fit the payload", line, n)
		}
		out = append(out, Field{string(line), string(rest[:n])})
		p = rest[n+1:]
	}
	return out, nil
}

// fallbackLine is the entry as one stderr line that journald files under the entry's
// priority: "<PRIORITY>MESSAGE\n", line breaks in the message replaced by spaces.
func fallbackLine(p []byte) (string, error) {
	fields, err := Parse(p)
	if err != nil {
		return "", err
	}
	priority, message := "6", ""
	for _, f := range fields {
		switch f.Name {
		case "PRIORITY":
			priority = f.Value
		case "MESSAGE":
			message = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(f.Value)
		}
	}
	return "<" + priority + ">" + message + "\n", nil
}
