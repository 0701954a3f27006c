package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// This file reads bbolt's file format with plain reads (no memory map, so a truncated file
// cannot fault) and bounds checks on every offset (so an overwritten page cannot panic): the
// check at every open and the salvage of a damaged journal use it. The layout is bbolt's
// (version 2, little-endian on the machines archivist runs on).

const (
	boltMagic     = 0xED0CDAED
	boltVersion   = 2
	pageHeader    = 16 // id u64, flags u16, count u16, overflow u32
	leafElement   = 16 // flags u32, pos u32, ksize u32, vsize u32
	branchElement = 16 // pos u32, ksize u32, pgid u64
	bucketHeader  = 16 // root pgid u64, sequence u64

	flagBranch   = 0x01
	flagLeaf     = 0x02
	flagMeta     = 0x04
	flagFreelist = 0x10
	flagBucket   = 0x01 // leaf element: the value is a bucket

	noFreelist = ^uint64(0)
)

// errBlankPage is a page never written (all zero header).
var errBlankPage = errors.New("blank page")

// boltMeta is one of the two meta pages.
type boltMeta struct {
	pageSize uint32
	root     uint64 // root bucket's page
	freelist uint64
	pgid     uint64 // high water mark: pages in use are below it
	txid     uint64
}

// pageFile reads pages of a journal file.
type pageFile struct {
	f        *os.File
	size     int64
	pageSize int64
}

// parseMeta decodes and verifies the meta page in b (a whole page).
func parseMeta(b []byte) (boltMeta, error) {
	if len(b) < pageHeader+64 {
		return boltMeta{}, errors.New("short meta page")
	}
	if flags := binary.LittleEndian.Uint16(b[8:]); flags != flagMeta {
		return boltMeta{}, fmt.Errorf("not a meta page (flags %#x)", flags)
	}
	m := b[pageHeader:]
	if binary.LittleEndian.Uint32(m[0:]) != boltMagic {
		return boltMeta{}, errors.New("not a bbolt file (bad magic)")
	}
	if v := binary.LittleEndian.Uint32(m[4:]); v != boltVersion {
		return boltMeta{}, fmt.Errorf("bbolt format version %d, want %d", v, boltVersion)
	}
	h := fnv.New64a()
	h.Write(m[:56])
	if h.Sum64() != binary.LittleEndian.Uint64(m[56:]) {
		return boltMeta{}, errors.New("meta page checksum mismatch")
	}
	return boltMeta{
		pageSize: binary.LittleEndian.Uint32(m[8:]),
		root:     binary.LittleEndian.Uint64(m[16:]),
		freelist: binary.LittleEndian.Uint64(m[32:]),
		pgid:     binary.LittleEndian.Uint64(m[40:]),
		txid:     binary.LittleEndian.Uint64(m[48:]),
	}, nil
}

// readMetas reads both meta pages and returns the one bbolt would use (the valid one with the
// higher transaction id), and the problem with the other, if any.
func (pf *pageFile) readMetas() (boltMeta, error, error) {
	b := make([]byte, 4096)
	n, err := pf.f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return boltMeta{}, nil, fmt.Errorf("read meta page 0: %w", err)
	}
	m0, err0 := parseMeta(b[:n])
	pageSize := int64(os.Getpagesize())
	if err0 == nil {
		pageSize = int64(m0.pageSize)
	}
	b = make([]byte, pageSize)
	n, err = pf.f.ReadAt(b, pageSize)
	if err != nil && !errors.Is(err, io.EOF) {
		return boltMeta{}, nil, fmt.Errorf("read meta page 1: %w", err)
	}
	m1, err1 := parseMeta(b[:n])
	switch {
	case err0 != nil && err1 != nil:
		return boltMeta{}, nil, fmt.Errorf("both meta pages are invalid: page 0: %v; page 1: %v", err0, err1)
	case err1 != nil:
		return m0, fmt.Errorf("meta page 1: %v", err1), nil
	case err0 != nil:
		return m1, fmt.Errorf("meta page 0: %v", err0), nil
	case m1.txid > m0.txid:
		return m1, nil, nil
	default:
		return m0, nil, nil
	}
}

// page reads page id with its overflow pages, refusing what lies beyond limit (the high water
// mark) or the end of the file.
func (pf *pageFile) page(id, limit uint64) ([]byte, error) {
	if id < 2 || id >= limit {
		return nil, fmt.Errorf("page %d is outside the pages in use (2 to %d)", id, limit-1)
	}
	head := make([]byte, pageHeader)
	if _, err := pf.f.ReadAt(head, int64(id)*pf.pageSize); err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	if got := binary.LittleEndian.Uint64(head); got != id {
		if got == 0 && binary.LittleEndian.Uint64(head[8:]) == 0 {
			return nil, fmt.Errorf("page %d: %w", id, errBlankPage)
		}
		return nil, fmt.Errorf("page %d: header names page %d", id, got)
	}
	overflow := uint64(binary.LittleEndian.Uint32(head[12:]))
	if id+overflow >= limit {
		return nil, fmt.Errorf("page %d: its %d overflow pages reach past the pages in use", id, overflow)
	}
	b := make([]byte, int64(overflow+1)*pf.pageSize)
	if _, err := pf.f.ReadAt(b, int64(id)*pf.pageSize); err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	return b, nil
}

// freelist returns the free page ids the freelist page lists.
func (pf *pageFile) freelist(m boltMeta) ([]uint64, error) {
	if m.freelist == noFreelist {
		return nil, nil
	}
	b, err := pf.page(m.freelist, m.pgid)
	if err != nil {
		return nil, fmt.Errorf("freelist: %w", err)
	}
	if flags := binary.LittleEndian.Uint16(b[8:]); flags != flagFreelist {
		return nil, fmt.Errorf("freelist: page %d is not a freelist page (flags %#x)", m.freelist, flags)
	}
	count, at := uint64(binary.LittleEndian.Uint16(b[10:])), uint64(pageHeader)
	if count == 0xFFFF {
		count, at = binary.LittleEndian.Uint64(b[pageHeader:]), pageHeader+8
	}
	if count > (uint64(len(b))-at)/8 {
		return nil, fmt.Errorf("freelist: page %d lists %d ids, more than it holds", m.freelist, count)
	}
	ids := make([]uint64, count)
	for i := range ids {
		ids[i] = binary.LittleEndian.Uint64(b[at+uint64(i)*8:])
		if ids[i] < 2 || ids[i] >= m.pgid {
			return nil, fmt.Errorf("freelist: free page %d is outside the pages in use", ids[i])
		}
	}
	return ids, nil
}

// quickCheck is the check at every open: both meta pages, the file's size against the pages
// in use, the freelist and the root page. It reads a few pages only. A damaged file's error
// wraps ErrDamaged; warning is a problem bbolt recovers from by itself (one torn meta page).
func quickCheck(path string) (warning string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	warning, err = checkPages(&pageFile{f: f, size: fi.Size()})
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	return warning, err
}

func checkPages(pf *pageFile) (warning string, err error) {
	m, other, err := pf.readMetas()
	if err != nil {
		return "", err
	}
	if other != nil {
		warning = other.Error() + " (the other one is used)"
	}
	pf.pageSize = int64(m.pageSize)
	if pf.pageSize < 1024 || pf.pageSize > 1<<16 || pf.pageSize&(pf.pageSize-1) != 0 {
		return warning, fmt.Errorf("meta page gives an impossible page size %d", pf.pageSize)
	}
	if need := int64(m.pgid) * pf.pageSize; m.pgid > 1<<40 || pf.size < need {
		return warning, fmt.Errorf("the file is %d bytes but its pages reach %d bytes: it was truncated", pf.size, need)
	}
	if _, err := pf.freelist(m); err != nil {
		return warning, err
	}
	root, err := pf.page(m.root, m.pgid)
	if err != nil {
		return warning, fmt.Errorf("root bucket: %w", err)
	}
	if flags := binary.LittleEndian.Uint16(root[8:]); flags != flagLeaf && flags != flagBranch {
		return warning, fmt.Errorf("root bucket: page %d is not a branch or leaf page (flags %#x)", m.root, flags)
	}
	return warning, nil
}
