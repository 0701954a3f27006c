package forward_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"

	"github.com/archivist-project/archivist/archive/forward"
)

func TestDerivedID(t *testing.T) {
	const id = "57904eb6-5352-4c5e-adf6-5f100572cf54"
	a, b := forward.DerivedID(id, "request"), forward.DerivedID(id, "request")
	if a != b || !forward.IsUUID(a) {
		t.Fatalf("DerivedID = %q then %q", a, b)
	}
	if a[14] != '8' || !strings.ContainsRune("89ab", rune(a[19])) {
		t.Errorf("%q is not a version 8, variant 10 UUID", a)
	}
	if forward.DerivedID(id, "other") == a || forward.DerivedID(id+"x", "request") == a {
		t.Error("different inputs gave the same id")
	}
}

func TestBaseMIME(t *testing.T) {
	for in, want := range map[string]string{
		"text/plain; charset=utf-8": "text/plain",
		"Image/JPEG":                "image/jpeg",
		"video/mp4; codecs=":        "video/mp4",
		"nonsense":                  "",
		"":                          "",
	} {
		if got := forward.BaseMIME(in); got != want {
			t.Errorf("BaseMIME(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMultipartBodyLengthAndLayout(t *testing.T) {
	jh := textproto.MIMEHeader{}
	jh.Set("Content-Disposition", `form-data; name="json"`)
	jh.Set("Content-Type", "application/json")
	fh := textproto.MIMEHeader{}
	fh.Set("Content-Disposition", `form-data; name="file"; filename="a.bin"`)
	content := bytes.Repeat([]byte("0123456789"), 10_000)
	opens := 0
	b, err := forward.NewMultipartBody([]forward.Part{{Header: jh, Data: []byte(`{"a":1}`)}},
		&forward.StreamedPart{Header: fh, Size: int64(len(content)), Open: func() (io.ReadCloser, error) {
			opens++
			return io.NopCloser(bytes.NewReader(content)), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // a resend reads the same body again
		rc, err := b.Open()
		if err != nil {
			t.Fatal(err)
		}
		all, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || int64(len(all)) != b.Length {
			t.Fatalf("read %d bytes (err %v), Length says %d", len(all), err, b.Length)
		}
		_, params, _ := mime.ParseMediaType(b.ContentType)
		mr := multipart.NewReader(bytes.NewReader(all), params["boundary"])
		p, _ := mr.NextPart()
		if js, _ := io.ReadAll(p); p.FormName() != "json" || string(js) != `{"a":1}` {
			t.Errorf("first part %q = %s", p.FormName(), js)
		}
		p, _ = mr.NextPart()
		if got, _ := io.ReadAll(p); p.FileName() != "a.bin" || !bytes.Equal(got, content) {
			t.Errorf("file part differs")
		}
		if _, err := mr.NextPart(); err != io.EOF {
			t.Errorf("after the file: %v, want EOF", err)
		}
	}
	if opens != 2 {
		t.Errorf("file opened %d times", opens)
	}
}

func TestMultipartBodyShortFileFails(t *testing.T) {
	b, err := forward.NewMultipartBody(nil, &forward.StreamedPart{Header: textproto.MIMEHeader{}, Size: 10,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("short")), nil }})
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := b.Open()
	if _, err := io.ReadAll(rc); err == nil {
		t.Error("a file shorter than Size was read without error")
	}
	// A longer file is cut at Size.
	b, _ = forward.NewMultipartBody(nil, &forward.StreamedPart{Header: textproto.MIMEHeader{}, Size: 3,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("longer")), nil }})
	rc, _ = b.Open()
	all, err := io.ReadAll(rc)
	if err != nil || int64(len(all)) != b.Length {
		t.Errorf("read %d (err %v), want %d", len(all), err, b.Length)
	}
}

func TestBasicProblemsNameTheFields(t *testing.T) {
	if p := forward.BasicProblems("gws", "u", "username", "s", "password"); len(p) != 0 {
		t.Errorf("a good pair: %v", p)
	}
	got := strings.Join(forward.BasicProblems("", "a:b", "client id", "", "client secret"), "; ")
	if want := `name is empty; client id is empty or contains ":"; client secret is empty`; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
