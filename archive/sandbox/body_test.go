package sandbox

import (
	"bytes"
	"crypto/sha256"
	"io"
	"strings"
	"testing"
)

// readSizes is a reader of endless 'x' bytes that records how much each Read asked for.
type readSizes struct {
	asked []int
}

func (r *readSizes) Read(p []byte) (int, error) {
	r.asked = append(r.asked, len(p))
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestCopyBodyReadsALargeBodyAMegabyteAtATime(t *testing.T) {
	const n = 3*bodyReadSize + 5
	for name, dst := range map[string]io.Writer{"discard": io.Discard, "hash": sha256.New()} {
		r := &readSizes{}
		got, err := CopyBody(dst, r, n)
		if err != nil || got != n {
			t.Fatalf("%s: copied %d bytes, %v; want %d", name, got, err, n)
		}
		// io.Copy would ask for 8 KiB (io.Discard's ReadFrom) or 32 KiB at a time.
		if r.asked[0] != bodyReadSize || len(r.asked) != 4 {
			t.Errorf("%s: reads asked for %v, want %d of %d bytes (the last one shorter)", name, r.asked, 4, bodyReadSize)
		}
	}
}

func TestCopyBodyCopiesExactlyItsLength(t *testing.T) {
	for _, n := range []int64{0, 1, smallBody, smallBody + 1, 2*bodyReadSize + 7} {
		src := bytes.Repeat([]byte("0123456789"), int(n/10)+2) // longer than n: the rest stays unread
		var dst bytes.Buffer
		got, err := CopyBody(&dst, bytes.NewReader(src), n)
		if err != nil || got != n || !bytes.Equal(dst.Bytes(), src[:n]) {
			t.Errorf("n=%d: copied %d bytes (%v), %d in dst; want the first %d bytes of the body", n, got, err, dst.Len(), n)
		}
	}
	// A shorter body copies what there is, without error: the store compares the count.
	got, err := CopyBody(io.Discard, strings.NewReader("short"), bodyReadSize*2)
	if err != nil || got != 5 {
		t.Errorf("short body: copied %d bytes, %v; want 5, nil", got, err)
	}
	// n < 0: everything.
	got, err = CopyBody(io.Discard, bytes.NewReader(make([]byte, smallBody*3)), -1)
	if err != nil || got != smallBody*3 {
		t.Errorf("unknown length: copied %d bytes, %v; want %d", got, err, smallBody*3)
	}
}
