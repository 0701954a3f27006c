package globalrelay

import (
	"context"
	"io"
	"net"
	"syscall"
)

// kernelSender is a request body that can send itself to a socket through the kernel
// (ondisk.Body). net/http hands a body with a Content-Length to the connection's ReadFrom
// wrapped in an io.LimitedReader, and there only an *os.File gets sendfile; a body that
// checks the file before its last bytes go out gets it through kernelConn. Such a body must
// reach the transport as it is (an io.ReadCloser itself, not wrapped in io.NopCloser).
type kernelSender interface {
	SendTo(s interface {
		syscall.Conn
		io.Writer
	}, n int64) (int64, error)
}

// kernelConn is a TCP connection whose ReadFrom lets a kernelSender body send itself.
type kernelConn struct {
	*net.TCPConn
}

// ReadFrom sends a kernelSender body with SendTo, anything else as the TCP connection does
// (an *os.File by sendfile too).
func (c kernelConn) ReadFrom(r io.Reader) (int64, error) {
	if lr, ok := r.(*io.LimitedReader); ok {
		if ks, ok := lr.R.(kernelSender); ok && lr.N > 0 {
			n, err := ks.SendTo(c.TCPConn, lr.N)
			lr.N -= n
			return n, err
		}
	}
	return c.TCPConn.ReadFrom(r)
}

// dialKernel wraps dial so that plain TCP connections are kernelConns. TLS connections are
// not: their bytes are encrypted in user space, so a body goes through Read (and its hash).
func dialKernel(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok && err == nil {
			return kernelConn{tc}, nil
		}
		return c, err
	}
}
