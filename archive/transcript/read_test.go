package transcript

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/archivist-project/archivist/watcher/beneath"
)

// writeFile writes data at root/rel, creating folders.
func writeFile(t *testing.T, root, rel string, data []byte) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		rel, want string
	}{
		{"a/c1.transcript.json", "native"},
		{"c1.genesys.json", "genesys"},
		{"a/.transcript.json", ""}, // nothing before the suffix
		{"a/.genesys.json", ""},
		{"c1.TRANSCRIPT.JSON", ""}, // suffixes are case-sensitive
		{"c1.json", ""},
		{"transcript.json/x.pdf", ""},
	}
	for _, tt := range tests {
		f, ok := Detect(tt.rel)
		got := ""
		if ok {
			got = f.Name()
		}
		if got != tt.want {
			t.Errorf("Detect(%q) = %q, want %q", tt.rel, got, tt.want)
		}
	}
	if names := []string{Formats()[0].Name(), Formats()[1].Name()}; names[0] != FormatNative || names[1] != FormatGenesys || len(Formats()) != 2 {
		t.Errorf("Formats() = %v", Formats())
	}
}

func TestReadParsesBothFormats(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "exports/c1.transcript.json", readTestdata(t, "native/valid/example.transcript.json"))
	writeFile(t, root, "chats/seed.genesys.json", readTestdata(t, "genesys/valid/seed.genesys.json"))
	c, err := Read(root, "exports/c1.transcript.json")
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "c-1" || c.Events[1].Files[0].Path != "exports/attachments/Q3-report-2023.pdf" {
		t.Errorf("native: %+v", c)
	}
	g, err := Read(root, "chats/seed.genesys.json")
	if err != nil {
		t.Fatal(err)
	}
	if g.ChatID != "0001PaBMYY3600R8" {
		t.Errorf("genesys: %+v", g)
	}
}

func TestReadRefuses(t *testing.T) {
	outside := t.TempDir()
	writeFile(t, outside, "secret.transcript.json", readTestdata(t, "native/valid/example.transcript.json"))
	root := t.TempDir()
	writeFile(t, root, "real/ok.transcript.json", readTestdata(t, "native/valid/example.transcript.json"))
	if err := os.Symlink(filepath.Join(outside, "secret.transcript.json"), filepath.Join(root, "link.transcript.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "real", "ok.transcript.json"), filepath.Join(root, "inside-link.transcript.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "linkdir")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "pipe.transcript.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "dir.transcript.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, MaxTranscriptSize+1)
	writeFile(t, root, "big.transcript.json", big)

	tests := []struct {
		name, rel, reason string
		is                error
	}{
		{"symlink out of the root", "link.transcript.json", "symbolic link in path", beneath.ErrSymlink},
		{"symlink inside the root", "inside-link.transcript.json", "symbolic link in path", beneath.ErrSymlink},
		{"symlinked folder", "linkdir/secret.transcript.json", "symbolic link in path", beneath.ErrSymlink},
		{"FIFO", "pipe.transcript.json", "not a regular file: named pipe (FIFO)", beneath.ErrNotRegular},
		{"directory", "dir.transcript.json", "not a regular file: directory", beneath.ErrNotRegular},
		{"climbing out", "../x/secret.transcript.json", "path escapes root", beneath.ErrOutsideRoot},
		{"absolute", filepath.Join(outside, "secret.transcript.json"), "path escapes root", beneath.ErrOutsideRoot},
		{"missing", "gone.transcript.json", "no such file or directory", fs.ErrNotExist},
		{"over the size limit", "big.transcript.json", "transcript is larger than the 16 MiB limit", ErrTooLarge},
		{"no format", "real/notes.txt", "no transcript format matches the file name", ErrUnknownFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Read(root, tt.rel)
			if err == nil {
				t.Fatalf("Read succeeded: %+v", c)
			}
			assertError(t, err, tt.rel, "", tt.reason, tt.is)
		})
	}
}

func TestCheckFiles(t *testing.T) {
	outside := t.TempDir()
	writeFile(t, outside, "secret.pdf", []byte("secret"))
	root := t.TempDir()
	writeFile(t, root, "x/ok.pdf", []byte("12345"))
	writeFile(t, root, "x/big.bin", []byte("0123456789"))
	writeFile(t, root, "x/wrong-size.pdf", []byte("123"))
	if err := os.Symlink(filepath.Join(outside, "secret.pdf"), filepath.Join(root, "x", "link.pdf")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "x", "linkdir")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "x", "pipe.pdf"), 0o644); err != nil {
		t.Fatal(err)
	}
	files := `{"path":"ok.pdf","size":5},{"href":"https://files.example.com/a.zip"},{"path":"missing.pdf"},{"path":"link.pdf"},{"path":"linkdir/secret.pdf"},` +
		`{"path":"pipe.pdf"},{"path":"big.bin"},{"path":"wrong-size.pdf","size":46}`
	c, err := Native{}.Parse("x/t.transcript.json", []byte(doc(ev(`"type":"file","files":[`+files+`]`))))
	if err != nil {
		t.Fatal(err)
	}
	err = CheckFiles(root, "x/t.transcript.json", c, 9)
	if err == nil {
		t.Fatal("CheckFiles found no problem")
	}
	want := []string{
		`x/t.transcript.json: $.events[0].files[2]: "x/missing.pdf": does not exist`,
		`x/t.transcript.json: $.events[0].files[3]: "x/link.pdf": is reached through a symbolic link, which is never followed`,
		`x/t.transcript.json: $.events[0].files[4]: "x/linkdir/secret.pdf": is reached through a symbolic link, which is never followed`,
		`x/t.transcript.json: $.events[0].files[5]: "x/pipe.pdf": is a named pipe (FIFO), not a regular file`,
		`x/t.transcript.json: $.events[0].files[6]: "x/big.bin": 10 bytes is over the 9 byte limit`,
		`x/t.transcript.json: $.events[0].files[7]: "x/wrong-size.pdf": has 3 bytes but the transcript states 46`,
	}
	if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("CheckFiles:\n got %q\nwant %q", got, want)
	}
	if !errors.Is(err, ErrAttachment) || !errors.Is(err, ErrTooLarge) {
		t.Errorf("CheckFiles error does not wrap ErrAttachment and ErrTooLarge: %v", err)
	}

	good, err := Native{}.Parse("x/t.transcript.json", []byte(doc(ev(`"type":"file","files":[{"path":"ok.pdf","size":5}]`))))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckFiles(root, "x/t.transcript.json", good, MaxAttachmentSize); err != nil {
		t.Errorf("CheckFiles of a good transcript: %v", err)
	}
}

// Every file in testdata/*/valid parses; every file in testdata/*/invalid fails with an
// *Error that names it and wraps ErrInvalid or ErrTooLarge.
func TestTestdata(t *testing.T) {
	for _, dir := range []string{"native", "genesys"} {
		for _, kind := range []string{"valid", "invalid"} {
			entries, err := os.ReadDir(filepath.Join("testdata", dir, kind))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				rel := "in/" + dir + "/" + e.Name()
				t.Run(rel+" "+kind, func(t *testing.T) {
					f, ok := Detect(rel)
					if !ok || f.Name() != dir {
						t.Fatalf("Detect(%q) = %v, %v", rel, f, ok)
					}
					c, err := f.Parse(rel, readTestdata(t, dir+"/"+kind+"/"+e.Name()))
					if kind == "valid" {
						if err != nil {
							t.Fatal(err)
						}
						checkPaths(t, c)
						return
					}
					var te *Error
					if !errors.As(err, &te) || te.File != rel || !(errors.Is(err, ErrInvalid) || errors.Is(err, ErrTooLarge)) {
						t.Fatalf("Parse = %v, %v; want an *Error naming %s", c, err, rel)
					}
					t.Log(err)
				})
			}
		}
	}
}
