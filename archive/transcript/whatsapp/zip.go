package whatsapp

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/archivist-project/archivist/archive/transcript"
)

// The same ZIP safety rules as package slack's (names, symlinks, duplicates, declared and
// actual sizes, ratio); kept here because slack's are unexported methods of its Export.

// safeEntries returns the entries that may be opened, recording a problem for every other one.
func (c *Chat) safeEntries(zr *zip.Reader) []*zip.File {
	count, reported := map[string]int{}, map[string]bool{}
	for _, f := range zr.File {
		count[f.Name]++
	}
	var out []*zip.File
	for _, f := range zr.File {
		switch {
		case unsafeName(f.Name):
			c.problems = append(c.problems, c.entryError(f.Name, ErrUnsafeEntry, "absolute name, backslash or \"..\": refused"))
		case strings.HasSuffix(f.Name, "/") || f.Name == "__MACOSX" || strings.HasPrefix(f.Name, "__MACOSX/"):
			// folders and the resource forks macOS adds: never opened
		case f.Mode()&fs.ModeSymlink != 0:
			c.problems = append(c.problems, c.entryError(f.Name, ErrUnsafeEntry, "symbolic link: refused"))
		case count[f.Name] > 1:
			if !reported[f.Name] {
				reported[f.Name] = true
				c.problems = append(c.problems, c.entryError(f.Name, ErrUnsafeEntry, "name appears %d times in the ZIP: refused", count[f.Name]))
			}
		default:
			out = append(out, f)
		}
	}
	return out
}

func unsafeName(name string) bool {
	if name == "" || strings.ContainsAny(name, "\\\x00") || strings.HasPrefix(name, "/") ||
		(len(name) >= 2 && name[1] == ':') {
		return true
	}
	return slices.Contains(strings.Split(name, "/"), "..")
}

func (c *Chat) entryError(entry string, err error, format string, args ...any) *Error {
	return &Error{File: c.name, Entry: entry, Reason: fmt.Sprintf(format, args...), Err: err}
}

// checkSize refuses an entry whose declared size is above limit or whose declared ratio is
// above MaxRatio.
func (c *Chat) checkSize(f *zip.File, limit int64) error {
	if f.UncompressedSize64 > uint64(limit) {
		return c.entryError(f.Name, ErrBomb, "declared uncompressed size %d bytes is above the limit of %d", f.UncompressedSize64, limit)
	}
	if c.ratioTooHigh(int64(f.UncompressedSize64), f) {
		return c.entryError(f.Name, ErrBomb, "declared uncompressed size %d bytes is more than %d times its compressed size %d",
			f.UncompressedSize64, c.limits.MaxRatio, f.CompressedSize64)
	}
	return nil
}

func (c *Chat) ratioTooHigh(n int64, f *zip.File) bool {
	return n > c.limits.RatioFloor && uint64(n) > uint64(c.limits.MaxRatio)*max(f.CompressedSize64, 1)
}

// openZipEntry opens an entry for reading at most limit bytes; reading more than the entry
// declares, more than limit, or more than MaxRatio times the compressed size is an ErrBomb.
func (c *Chat) openZipEntry(f *zip.File, limit int64) (io.ReadCloser, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, c.entryError(f.Name, transcript.ErrInvalid, "cannot open: %v", err)
	}
	return &boundedReader{rc: rc, c: c, f: f, limit: min(limit, int64(f.UncompressedSize64))}, nil
}

type boundedReader struct {
	rc    io.ReadCloser
	c     *Chat
	f     *zip.File
	limit int64
	n     int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if int64(len(p)) > b.limit-b.n+1 {
		p = p[:b.limit-b.n+1]
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if b.n > b.limit || b.c.ratioTooHigh(b.n, b.f) {
		return n, b.c.entryError(b.f.Name, ErrBomb, "more than %d bytes (its declared size, or the limit) or %d times its compressed size when decompressed",
			b.limit, b.c.limits.MaxRatio)
	}
	if errors.Is(err, zip.ErrFormat) { // archive/zip's own check: more (or fewer) bytes than declared
		return n, b.c.entryError(b.f.Name, ErrBomb, "decompresses to a size other than the %d bytes it declares", b.f.UncompressedSize64)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return n, b.c.entryError(b.f.Name, transcript.ErrInvalid, "cannot read: %v", err)
	}
	return n, err
}

func (b *boundedReader) Close() error { return b.rc.Close() }

// ChatEntry reports whether a ZIP entry's name is a WhatsApp chat text: "_chat.txt" (iOS) or
// "WhatsApp Chat with NAME.txt" (Android, also in German, French and Spanish), at the root or
// in one folder.
func ChatEntry(name string) bool {
	if strings.Count(name, "/") > 1 {
		return false
	}
	base := path.Base(name)
	return base == "_chat.txt" || androidTitle(base) != ""
}

// MatchText reports whether relPath names a loose chat text: "WhatsApp Chat with NAME.txt"
// (and its translations), or "_chat.txt" in a folder named "WhatsApp Chat - NAME" (an
// unpacked iOS export).
func MatchText(relPath string) bool {
	base := path.Base(relPath)
	if base == "_chat.txt" {
		return iosTitle(path.Base(path.Dir(relPath))) != ""
	}
	return androidTitle(base) != ""
}

// findChat picks the chat text among the safe entries and indexes the media beside it.
func (c *Chat) findChat(files []*zip.File) (*zip.File, error) {
	var chats []*zip.File
	for _, f := range files {
		if ChatEntry(f.Name) {
			chats = append(chats, f)
		}
	}
	if len(chats) != 1 {
		reason := "no _chat.txt or \"WhatsApp Chat with NAME.txt\" at the root or in one folder"
		if len(chats) > 1 {
			reason = fmt.Sprintf("%d chat texts (%s, %s, ...): one chat per ZIP", len(chats), chats[0].Name, chats[1].Name)
		}
		return nil, c.entryError("", ErrNotExport, "%s", reason)
	}
	chat := chats[0]
	if err := c.checkSize(chat, c.limits.MaxText); err != nil {
		return nil, err
	}
	dir := path.Dir(chat.Name)
	c.media = map[string]*zip.File{}
	for _, f := range files {
		if f != chat && path.Dir(f.Name) == dir {
			c.media[path.Base(f.Name)] = f
		}
	}
	return chat, nil
}
