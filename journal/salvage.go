package journal

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// Salvage is what a damaged journal still yields: every record, audit entry, conversation and
// daemon setting that decodes, from every page that reads. It is read with plain reads and
// bounds checks, page by page, without bbolt, so a truncated file or an overwritten branch
// page costs only the pages that are lost: the leaves below a damaged branch are found too.
type Salvage struct {
	Records       map[uint64]*Record
	Audit         map[string][]byte // by key (record id, sequence), stored form
	Conversations map[string][]byte // by key, stored form
	Delivered     map[string]bool   // the exactly-once ledger of chat exports, by stored key
	Settings      map[string][]byte // meta "daemon/..." values
	RecordSeq     uint64            // highest record id handed out, if the records bucket's header survived
	AuditSeq      uint64
	Pages         int      // pages read
	Skipped       []string // pages that could not be read, and why

	seen    uint64          // highest record id an audit or due entry names
	inTree  map[uint64]bool // pages the journal's tree reaches from its meta page
	current bool            // the page being read is one of them
	orphan  map[uint64]bool // records found only outside the tree
}

// SalvageFile reads what survives of the journal at path.
func SalvageFile(path string) (*Salvage, error) {
	s := &Salvage{Records: map[uint64]*Record{}, Audit: map[string][]byte{}, Conversations: map[string][]byte{}, Settings: map[string][]byte{},
		Delivered: map[string]bool{}, orphan: map[uint64]bool{}}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("salvage %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("salvage %s: %w", path, err)
	}
	pf := &pageFile{f: f, size: fi.Size(), pageSize: int64(os.Getpagesize())}
	free := map[uint64]bool{}
	m, _, merr := pf.readMetas()
	if merr == nil && m.pageSize >= 1024 && m.pageSize <= 1<<16 {
		pf.pageSize = int64(m.pageSize)
		if ids, err := pf.freelist(m); err == nil {
			for _, id := range ids {
				free[id] = true // older versions of pages: what they hold was replaced since
			}
		}
	} else if merr != nil {
		s.Skipped = append(s.Skipped, "meta pages: "+merr.Error())
	}
	n := uint64(pf.size / pf.pageSize)
	if merr == nil && m.pgid < n {
		n = m.pgid // the rest is room the file was grown by, never written
	}
	if merr == nil {
		s.inTree = pf.tree(m.root, n)
	}
	s.scan(pf, n, free)
	return s, nil
}

// scan reads every page in use that is not free, and takes what its leaves hold.
func (s *Salvage) scan(pf *pageFile, n uint64, free map[uint64]bool) {
	for id := uint64(2); id < n; id++ {
		if free[id] {
			continue
		}
		b, err := pf.page(id, n)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, errBlankPage) {
				s.Skipped = append(s.Skipped, err.Error())
			}
			continue
		}
		s.Pages++
		if binary.LittleEndian.Uint16(b[8:]) == flagLeaf {
			s.current = s.inTree[id]
			s.leaf(b, 0)
		}
		id += uint64(binary.LittleEndian.Uint32(b[12:])) // its overflow pages were read with it
	}
}

// tree returns the pages reachable from root through branch pages and bucket roots, skipping
// pages that do not read.
func (pf *pageFile) tree(root, limit uint64) map[uint64]bool {
	seen := map[uint64]bool{}
	stack := []uint64{root}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[id] {
			continue
		}
		b, err := pf.page(id, limit)
		if err != nil {
			continue
		}
		seen[id] = true
		flags, count := binary.LittleEndian.Uint16(b[8:]), int(binary.LittleEndian.Uint16(b[10:]))
		for i := range count {
			at := pageHeader + i*leafElement
			if at+leafElement > len(b) {
				break
			}
			switch flags {
			case flagBranch:
				stack = append(stack, binary.LittleEndian.Uint64(b[at+8:]))
			case flagLeaf:
				if binary.LittleEndian.Uint32(b[at:])&flagBucket == 0 {
					continue
				}
				v0 := at + int(binary.LittleEndian.Uint32(b[at+4:])) + int(binary.LittleEndian.Uint32(b[at+8:]))
				if v0 >= at && v0+8 <= len(b) {
					if r := binary.LittleEndian.Uint64(b[v0:]); r != 0 {
						stack = append(stack, r)
					}
				}
			}
		}
	}
	return seen
}

// leaf takes every element of the leaf page in b that decodes.
func (s *Salvage) leaf(b []byte, depth int) {
	count := int(binary.LittleEndian.Uint16(b[10:]))
	for i := range count {
		at := pageHeader + i*leafElement
		if at+leafElement > len(b) {
			return
		}
		flags := binary.LittleEndian.Uint32(b[at:])
		pos := int(binary.LittleEndian.Uint32(b[at+4:]))
		ksize := int(binary.LittleEndian.Uint32(b[at+8:]))
		vsize := int(binary.LittleEndian.Uint32(b[at+12:]))
		k0 := at + pos
		if pos < 0 || ksize < 0 || vsize < 0 || k0 < 0 || k0+ksize+vsize > len(b) || k0+ksize+vsize < k0 {
			continue
		}
		k, v := b[k0:k0+ksize], b[k0+ksize:k0+ksize+vsize]
		if flags&flagBucket != 0 {
			s.bucket(k, v, depth)
			continue
		}
		s.element(k, v)
	}
}

// bucket notes a bucket's sequence and reads an inline bucket's page.
func (s *Salvage) bucket(name, v []byte, depth int) {
	if len(v) < bucketHeader {
		return
	}
	seq := binary.LittleEndian.Uint64(v[8:])
	switch string(name) {
	case string(bucketRecords):
		s.RecordSeq = max(s.RecordSeq, seq)
	case string(bucketAudit):
		s.AuditSeq = max(s.AuditSeq, seq)
	}
	if binary.LittleEndian.Uint64(v) == 0 && len(v) >= bucketHeader+pageHeader && depth < 4 {
		inline := v[bucketHeader:]
		if binary.LittleEndian.Uint16(inline[8:]) == flagLeaf {
			s.leaf(inline, depth+1)
		}
	}
}

// element takes one key and value if it decodes as something the journal keeps.
func (s *Salvage) element(k, v []byte) {
	switch {
	case len(k) == 8 && len(v) > 0:
		id := binary.BigEndian.Uint64(k)
		r := new(Record)
		if decodeRecord(v, r) != nil || r.ID != id || id == 0 {
			return
		}
		old, ok := s.Records[id]
		better := !ok
		switch {
		case ok && s.current == s.orphan[id]: // one copy in the tree, one outside
			better = s.current // the tree's is the current one
		case ok:
			better = r.UpdatedAt.After(old.UpdatedAt) // the newest copy is the best guess
		}
		if better {
			s.Records[id] = r
			s.orphan[id] = !s.current
		}
	case len(k) == 16 && len(v) == 0: // a due entry: time, record id
		s.seen = max(s.seen, binary.BigEndian.Uint64(k[8:]))
	case len(k) == 16:
		if decodeEntry(v, new(Entry)) == nil {
			s.Audit[string(k)] = bytes.Clone(v)
			s.seen = max(s.seen, binary.BigEndian.Uint64(k))
		}
	case isDeliveredEntry(k, v):
		s.Delivered[string(k)] = true
	case bytes.HasPrefix(k, []byte("daemon/")):
		s.Settings[string(k)] = bytes.Clone(v)
	case bytes.IndexByte(k, 0) > 0 && len(v) > 0 && v[0] == '{':
		var c Conversation
		if json.Unmarshal(v, &c) != nil || string(convKey(c.Watch, c.ID)) != string(k) {
			return
		}
		if old, ok := s.Conversations[string(k)]; ok {
			var o Conversation
			if json.Unmarshal(old, &o) == nil && len(o.Posted) > len(c.Posted) {
				return
			}
		}
		s.Conversations[string(k)] = bytes.Clone(v)
	}
}

// Lost returns the ids up to the highest one known to be handed out (by the records bucket,
// a record, an audit or due entry) that no surviving record has.
func (s *Salvage) Lost() []uint64 {
	top := max(s.RecordSeq, s.seen)
	for id := range s.Records {
		top = max(top, id)
	}
	var out []uint64
	for id := uint64(1); id <= top; id++ {
		if s.Records[id] == nil {
			out = append(out, id)
		}
	}
	return out
}

// Orphans returns the ids of records found only in pages outside the journal's tree (below a
// damaged branch page, or older copies whose page is not known to be free): a record's state
// may be older than it was, so a file may be archived again.
func (s *Salvage) Orphans() []uint64 {
	var out []uint64
	for _, id := range s.RecordIDs() {
		if s.orphan[id] {
			out = append(out, id)
		}
	}
	return out
}

// RecordIDs returns the salvaged record ids in order.
func (s *Salvage) RecordIDs() []uint64 {
	ids := make([]uint64, 0, len(s.Records))
	for id := range s.Records {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
