package forward

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
)

// Part is one small, in-memory part of a multipart/form-data body (a JSON document).
type Part struct {
	Header textproto.MIMEHeader
	Data   []byte
}

// StreamedPart is the one large part of a multipart/form-data body, read from Open when the
// body is sent and never held in memory.
type StreamedPart struct {
	Header textproto.MIMEHeader
	Size   int64                         // exact number of bytes Open returns
	Open   func() (io.ReadCloser, error) // a fresh reader from the start, per call
}

// MultipartBody is a multipart/form-data request body whose exact length is known before
// it is sent, so that it goes out with a Content-Length (not chunked) and can be rebuilt
// for a resend.
type MultipartBody struct {
	ContentType string // "multipart/form-data; boundary=..."
	Length      int64  // exact body length in bytes
	prefix      []byte // every small part, then the streamed part's headers
	suffix      []byte // the closing boundary
	file        *StreamedPart
}

// NewMultipartBody lays out parts followed by file (which may be nil). Only the small parts
// and the part headers are built in memory: the multipart.Writer writes them, and the
// streamed part's bytes are spliced in between its headers and the closing boundary when
// the body is read.
func NewMultipartBody(parts []Part, file *StreamedPart) (*MultipartBody, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		w, err := mw.CreatePart(p.Header)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(p.Data); err != nil {
			return nil, err
		}
	}
	if file != nil {
		if file.Size < 0 {
			return nil, fmt.Errorf("negative size %d", file.Size)
		}
		if _, err := mw.CreatePart(file.Header); err != nil {
			return nil, err
		}
	}
	n := buf.Len()
	if err := mw.Close(); err != nil {
		return nil, err
	}
	all := buf.Bytes()
	b := &MultipartBody{
		ContentType: mw.FormDataContentType(),
		prefix:      all[:n:n],
		suffix:      all[n:],
		file:        file,
	}
	b.Length = int64(len(b.prefix)) + int64(len(b.suffix))
	if file != nil {
		b.Length += file.Size
	}
	return b, nil
}

// errShortFile means Open returned fewer bytes than Size: the file changed under us.
var errShortFile = errors.New("file is shorter than its recorded size")

// Open returns a fresh reader of the whole body. The streamed part is opened now and
// closed with the returned reader; exactly Size bytes of it are sent, and a file shorter
// than Size makes the read fail instead of sending a body shorter than Length.
func (b *MultipartBody) Open() (io.ReadCloser, error) {
	if b.file == nil || b.file.Size == 0 {
		return io.NopCloser(io.MultiReader(bytes.NewReader(b.prefix), bytes.NewReader(b.suffix))), nil
	}
	f, err := b.file.Open()
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	r := io.MultiReader(
		bytes.NewReader(b.prefix),
		&exactReader{r: f, left: b.file.Size},
		bytes.NewReader(b.suffix),
	)
	return struct {
		io.Reader
		io.Closer
	}{r, f}, nil
}

// exactReader yields exactly left bytes of r, failing if r ends early.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF {
		if e.left > 0 {
			return n, errShortFile
		}
		err = nil // the next call answers io.EOF
	}
	return n, err
}
