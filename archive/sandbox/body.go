package sandbox

import (
	"io"
	"sync"
)

// bodyReadSize is how much CopyBody asks of a large body per read.
const bodyReadSize = 1 << 20

// smallBody is the largest body CopyBody reads as io.Copy does.
const smallBody = 64 << 10

var bodyBufs = sync.Pool{New: func() any { b := make([]byte, bodyReadSize); return &b }}

// CopyBody copies the n bytes of a request body to dst (all of it if n < 0), reading a large
// body a megabyte at a time. io.Copy reads it in pieces of 32 KiB, or 8 KiB into io.Discard,
// which in read system calls alone cost a receiver about a second of CPU per GB on loopback:
// a sink of a fast archive, and the server that reads and discards (the benchmark's null
// server, which uses this too), were then the bottleneck of a large file's transfer, and their
// speed went up and down by half between one run and the next. A small body (at most
// smallBody) is copied by io.Copy, as before: one or two reads, and no pooled buffer taken.
func CopyBody(dst io.Writer, body io.Reader, n int64) (int64, error) {
	src := body
	if n >= 0 {
		src = io.LimitReader(body, n)
		if n <= smallBody {
			return io.Copy(dst, src)
		}
	}
	bp := bodyBufs.Get().(*[]byte)
	defer bodyBufs.Put(bp)
	// Only a Writer: io.Discard's ReadFrom would read in its own pieces of 8 KiB.
	return io.CopyBuffer(struct{ io.Writer }{dst}, src, *bp)
}
