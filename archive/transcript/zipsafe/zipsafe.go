// Package zipsafe holds the safety rules every ZIP-based export reader applies before it
// opens an entry: names that climb out or are absolute, symbolic links, names that appear
// twice, and declared and actual sizes (a decompression bomb). It owns the rules only; each
// reader keeps its own error type and sentinels, handed in through Rules.
package zipsafe

import (
	"archive/zip"
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
)

// Rules are one reader's limits and the way it reports a refused entry.
type Rules struct {
	// MaxRatio is the largest uncompressed/compressed ratio accepted for an entry larger
	// than RatioFloor bytes.
	MaxRatio, RatioFloor int64
	// Unsafe is wrapped for an entry that is never opened (its name, a symlink, a
	// duplicate), Bomb for one too large, declared or actually read, and Invalid for one
	// that cannot be opened or read.
	Unsafe, Bomb, Invalid error
	// Errorf builds the reader's own error for entry, wrapping err.
	Errorf func(entry string, err error, format string, args ...any) error
}

// Entries returns the entries of files that may be opened, and a problem for every refused
// one (a duplicated name once). Folders and the resource forks macOS adds are skipped silently.
func (r Rules) Entries(files []*zip.File) (ok []*zip.File, problems []error) {
	count, reported := map[string]int{}, map[string]bool{}
	for _, f := range files {
		count[f.Name]++
	}
	for _, f := range files {
		switch {
		case unsafeName(f.Name):
			problems = append(problems, r.Errorf(f.Name, r.Unsafe, "absolute name, backslash or \"..\": refused"))
		case strings.HasSuffix(f.Name, "/") || f.Name == "__MACOSX" || strings.HasPrefix(f.Name, "__MACOSX/"):
			// never opened
		case f.Mode()&fs.ModeSymlink != 0:
			problems = append(problems, r.Errorf(f.Name, r.Unsafe, "symbolic link: refused"))
		case count[f.Name] > 1:
			if !reported[f.Name] {
				reported[f.Name] = true
				problems = append(problems, r.Errorf(f.Name, r.Unsafe, "name appears %d times in the ZIP: refused", count[f.Name]))
			}
		default:
			ok = append(ok, f)
		}
	}
	return ok, problems
}

func unsafeName(name string) bool {
	if name == "" || strings.ContainsAny(name, "\\\x00") || strings.HasPrefix(name, "/") ||
		(len(name) >= 2 && name[1] == ':') {
		return true
	}
	return slices.Contains(strings.Split(name, "/"), "..")
}

// CheckSize refuses an entry whose declared size is above limit or whose declared ratio is
// above MaxRatio.
func (r Rules) CheckSize(f *zip.File, limit int64) error {
	if f.UncompressedSize64 > uint64(limit) {
		return r.Errorf(f.Name, r.Bomb, "declared uncompressed size %d bytes is above the limit of %d", f.UncompressedSize64, limit)
	}
	if r.ratioTooHigh(int64(f.UncompressedSize64), f) {
		return r.Errorf(f.Name, r.Bomb, "declared uncompressed size %d bytes is more than %d times its compressed size %d",
			f.UncompressedSize64, r.MaxRatio, f.CompressedSize64)
	}
	return nil
}

func (r Rules) ratioTooHigh(n int64, f *zip.File) bool {
	return n > r.RatioFloor && uint64(n) > uint64(r.MaxRatio)*max(f.CompressedSize64, 1)
}

// Open opens an entry for reading at most limit bytes; reading more than the entry declares,
// more than limit, or more than MaxRatio times the compressed size is a Bomb.
func (r Rules) Open(f *zip.File, limit int64) (io.ReadCloser, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, r.Errorf(f.Name, r.Invalid, "cannot open: %v", err)
	}
	return &boundedReader{rc: rc, r: r, f: f, limit: min(limit, int64(f.UncompressedSize64))}, nil
}

type boundedReader struct {
	rc    io.ReadCloser
	r     Rules
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
	if b.n > b.limit || b.r.ratioTooHigh(b.n, b.f) {
		return n, b.r.Errorf(b.f.Name, b.r.Bomb, "more than %d bytes (its declared size, or the limit) or %d times its compressed size when decompressed",
			b.limit, b.r.MaxRatio)
	}
	if errors.Is(err, zip.ErrFormat) { // archive/zip's own check: more (or fewer) bytes than declared
		return n, b.r.Errorf(b.f.Name, b.r.Bomb, "decompresses to a size other than the %d bytes it declares", b.f.UncompressedSize64)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return n, b.r.Errorf(b.f.Name, b.r.Invalid, "cannot read: %v", err)
	}
	return n, err
}

func (b *boundedReader) Close() error { return b.rc.Close() }
