package journal

// Audit retention. A daemon that runs for years keeps every audit entry of every file; most
// of what it writes for one file is needed forever (the record: path, version, SHA-256,
// fileKey, state, destinations' results; and the audit entries of the steps that succeeded,
// were held, skipped or released), but the failed attempts and the waits are detail: worth
// reading while the file is in the works, of no use years after it was archived.
//
// CompactAudit removes the detail older than a cut-off, a bounded transaction at a time, and
// keeps the audit chain whole with a checkpoint. The chain is walked in sequence order from
// where the previous compaction stopped; each entry is checked against its link (a modified
// trail is never sealed: the compaction stops with ErrChainBroken), then
//   - an entry that is detail (isDetail) of a finished record (isFinished) is removed with
//     its link;
//   - every other entry is kept and re-linked into the sealed chain, which links the kept
//     entries up to the checkpoint exactly as the chain links them all:
//     sealed(n) = SHA-256(sealed(n-1) ‖ record id ‖ sequence ‖ the entry's stored bytes).
//
// The checkpoint (meta "chain/base") records where the sealed part ends (sequence S), the
// original chain's link at S and its count of links up to S, how many entries are sealed and
// the sealed chain's last link, and a checksum of all that. The links after S are the ones
// the chain wrote and continue from the original link at S, so the chain's head, and every
// head a signed report names, stay what they were. archivist verify checks the sealed links,
// the checkpoint's own checksum and its count and last link, then the links after it: a
// change to a kept entry is named where it is, a change to the checkpoint is named as such.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

var keyChainBase = []byte("chain/base")

// chainBase is the compaction checkpoint.
type chainBase struct {
	First    uint64   // the first sequence the chain linked (older entries are unchained)
	Seq      uint64   // the last sequence sealed
	Links    uint64   // links of the original chain up to Seq
	Link     [32]byte // the original chain's link at Seq
	Sealed   uint64   // entries kept and linked into the sealed chain
	SealHead [32]byte // the sealed chain's last link
	Removed  uint64   // detail entries removed, over every compaction
	At       int64    // unix ns of the last compaction
}

const baseV1, baseLen = 1, 1 + 8*3 + 32 + 8 + 32 + 8 + 8 + 32

func (b *chainBase) encode() []byte {
	v := make([]byte, 0, baseLen)
	v = append(v, baseV1)
	v = binary.BigEndian.AppendUint64(v, b.First)
	v = binary.BigEndian.AppendUint64(v, b.Seq)
	v = binary.BigEndian.AppendUint64(v, b.Links)
	v = append(v, b.Link[:]...)
	v = binary.BigEndian.AppendUint64(v, b.Sealed)
	v = append(v, b.SealHead[:]...)
	v = binary.BigEndian.AppendUint64(v, b.Removed)
	v = binary.BigEndian.AppendUint64(v, uint64(b.At))
	sum := sha256.Sum256(v)
	return append(v, sum[:]...)
}

// readBase returns the checkpoint (nil if none) and whether its checksum holds.
func readBase(tx *bolt.Tx) (*chainBase, bool) {
	v := tx.Bucket(bucketMeta).Get(keyChainBase)
	if v == nil {
		return nil, true
	}
	if len(v) != baseLen || v[0] != baseV1 {
		return &chainBase{}, false
	}
	sum := sha256.Sum256(v[:baseLen-32])
	b := &chainBase{}
	p := v[1:]
	next := func() uint64 { x := binary.BigEndian.Uint64(p); p = p[8:]; return x }
	b.First, b.Seq, b.Links = next(), next(), next()
	copy(b.Link[:], p)
	p = p[32:]
	b.Sealed = next()
	copy(b.SealHead[:], p)
	p = p[32:]
	b.Removed, b.At = next(), int64(next())
	return b, bytes.Equal(sum[:], v[baseLen-32:])
}

// isDetail reports whether an audit entry is detail that a retention may remove: a failed
// attempt (its HTTP status and error; the attempt that succeeded, or the hold, has its own
// entry) or a wait (for attachments, for a transcript).
func isDetail(e *Entry) bool { return e.Result == "error" || e.Result == "waiting" }

// isFinished reports whether a record's work is over, so its detail will not be needed to
// follow it: in a final state (archived, vanished, superseded, dismissed), nothing pending.
func isFinished(r *Record) bool {
	return len(r.Lanes) == 0 && r.State.Final()
}

// CompactOptions tune CompactAudit.
type CompactOptions struct {
	// Chunk is how many audit entries one transaction walks; zero means 4096.
	Chunk int
	// AfterChunk, if set, is called after each committed transaction (tests pause there).
	AfterChunk func(CompactStats)
}

// CompactStats is what CompactAudit did.
type CompactStats struct {
	Walked       uint64 // entries checked and sealed (kept or removed) by this run
	Removed      uint64 // detail entries removed by this run
	FreedBytes   uint64 // their keys and values, and their links
	Transactions int
	Seq          uint64 // the checkpoint's sequence after the run
	Sealed       uint64 // entries sealed in all, after the run
}

// CompactAudit removes the audit detail (isDetail) of finished records (isFinished) written
// before before, in transactions of opts.Chunk entries, so a running daemon keeps writing
// between them. It stops at the first entry written at or after before. The space freed is
// reused by bbolt for new pages; the file shrinks only when rewritten (CompactFile). A trail
// that was modified is not sealed: the run stops with an error wrapping ErrChainBroken.
func (db *DB) CompactAudit(ctx context.Context, before time.Time, opts CompactOptions) (CompactStats, error) {
	if opts.Chunk <= 0 {
		opts.Chunk = 4096
	}
	var st CompactStats
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		var done bool
		err := db.write(func(tx *bolt.Tx) error {
			var err error
			done, err = compactChunk(tx, before, opts.Chunk, &st)
			return err
		})
		if err != nil {
			return st, fmt.Errorf("journal: compact the audit trail: %w", err)
		}
		st.Transactions++
		if opts.AfterChunk != nil {
			opts.AfterChunk(st)
		}
		if done {
			return st, nil
		}
	}
}

// sealStep is what compactChunk does with one entry: remove it, or re-link it as sealed.
type sealStep struct {
	key, seqKey []byte
	remove      bool
	row         []byte
}

// compactChunk seals up to limit entries after the checkpoint and reports whether it reached
// the end (the chain's end, or an entry written at or after before).
func compactChunk(tx *bolt.Tx, before time.Time, limit int, st *CompactStats) (bool, error) {
	chain, audit := tx.Bucket(bucketChain), tx.Bucket(bucketAudit)
	if chain == nil {
		return true, nil
	}
	base, ok := readBase(tx)
	if !ok {
		return false, fmt.Errorf("%w: the compaction checkpoint was changed", ErrChainBroken)
	}
	if base == nil {
		base = &chainBase{}
	}
	finished := map[uint64]bool{}
	var steps []sealStep
	done := true
	c := chain.Cursor()
	for k, v := c.Seek(u64(base.Seq + 1)); k != nil; k, v = c.Next() {
		if len(steps) == limit {
			done = false
			break
		}
		step, stop, err := sealOne(tx, audit, base, k, v, before, finished)
		if err != nil {
			return false, err
		}
		if stop {
			break
		}
		steps = append(steps, step)
		if step.remove {
			st.Removed++
			st.FreedBytes += uint64(len(step.key) + len(audit.Get(step.key)) + len(k) + len(v))
		}
	}
	for _, s := range steps {
		if err := applySeal(chain, audit, s); err != nil {
			return false, err
		}
	}
	st.Walked += uint64(len(steps))
	if len(steps) == 0 {
		return true, nil
	}
	base.At = time.Now().UnixNano()
	st.Seq, st.Sealed = base.Seq, base.Sealed
	return done, tx.Bucket(bucketMeta).Put(keyChainBase, base.encode())
}

// sealOne checks the entry of chain row (k, v) against its link and decides what becomes of
// it, advancing base. stop is set at an entry written at or after before.
func sealOne(tx *bolt.Tx, audit *bolt.Bucket, base *chainBase, k, v []byte, before time.Time, finished map[uint64]bool) (sealStep, bool, error) {
	seq := binary.BigEndian.Uint64(k)
	if len(v) != 8+chainLinkBytes {
		return sealStep{}, false, fmt.Errorf("%w: audit chain link %d is damaged", ErrChainBroken, seq)
	}
	id := binary.BigEndian.Uint64(v)
	key := auditKey(id, seq)
	value := audit.Get(key)
	if value == nil {
		return sealStep{}, false, fmt.Errorf("%w: audit entry %d of record #%d was removed", ErrChainBroken, seq, id)
	}
	// An entry that does not decode is kept and sealed (its link is checked all the same):
	// it is never detail, and it must not stop every later compaction.
	var e Entry
	undecodable := decodeEntry(value, &e) != nil
	if !undecodable && !e.Time.Before(before) {
		return sealStep{}, true, nil
	}
	link := chainLink(base.Link[:], id, seq, value)
	if !bytes.Equal(link[:chainLinkBytes], v[8:]) {
		return sealStep{}, false, fmt.Errorf("%w: audit entry %d of record #%d was changed (%s)", ErrChainBroken, seq, id, describeEntry(value))
	}
	if base.First == 0 {
		base.First = seq
	}
	base.Seq, base.Link = seq, link
	base.Links++
	fin, known := finished[id]
	if !known {
		r, err := getRecord(tx, id)
		fin = err == nil && isFinished(r)
		finished[id] = fin
	}
	s := sealStep{key: key, seqKey: bytes.Clone(k)}
	if fin && !undecodable && isDetail(&e) {
		s.remove = true
		base.Removed++
		return s, false, nil
	}
	sealed := chainLink(base.SealHead[:], id, seq, value)
	base.SealHead = sealed
	base.Sealed++
	s.row = make([]byte, 8+chainLinkBytes)
	binary.BigEndian.PutUint64(s.row, id)
	copy(s.row[8:], sealed[:chainLinkBytes])
	return s, false, nil
}

func applySeal(chain, audit *bolt.Bucket, s sealStep) error {
	if !s.remove {
		return chain.Put(s.seqKey, s.row)
	}
	if err := audit.Delete(s.key); err != nil {
		return err
	}
	return chain.Delete(s.seqKey)
}

// Compaction is the checkpoint as verify and status show it.
type Compaction struct {
	Seq     uint64    // entries up to this sequence are sealed
	Sealed  uint64    // kept entries sealed
	Removed uint64    // detail entries removed
	At      time.Time // the last compaction
}

// LastCompaction returns the checkpoint, or nil if the audit trail was never compacted.
func (db *DB) LastCompaction() (*Compaction, error) {
	var out *Compaction
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b, ok := readBase(tx)
		if b == nil {
			return nil
		}
		if !ok {
			return fmt.Errorf("%w: the compaction checkpoint was changed", ErrChainBroken)
		}
		out = &Compaction{Seq: b.Seq, Sealed: b.Sealed, Removed: b.Removed, At: time.Unix(0, b.At).UTC()}
		return nil
	})
	return out, err
}
