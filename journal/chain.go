package journal

// The audit chain makes the audit trail tamper-evident (SEC 17a-4(f)'s audit-trail
// alternative to WORM storage asks for a record that shows any modification). Every audit
// entry appended is linked into one chain, in the order entries were written:
//
//	link(n) = SHA-256(link(n-1) ‖ record id ‖ sequence ‖ the entry's stored bytes)
//
// The chain bucket keeps, by sequence, the record id and the first 16 bytes of the link; the
// meta bucket keeps the head (the number of links and the newest link, whole). A changed
// entry no longer hashes to its link, a removed one leaves a link without its entry, an
// inserted one has no link, and a rewritten chain has a head that no longer matches the
// heads signed reports carry (archivist report --sign). Entries written before the chain
// existed (journals from before this version) are reported as unchained, not as breaks.
// A compaction (compact.go) removes old audit detail and re-links what it keeps up to a
// checkpoint; verify checks the entries up to it against the checkpoint, and the rest as above.

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketChain  = []byte("chain")
	keyChainHead = []byte("chain/head")
)

// chainLinkBytes is how much of each link the chain bucket keeps.
const chainLinkBytes = 16

// chainLink links the audit entry (id, seq) holding value after prev.
func chainLink(prev []byte, id, seq uint64, value []byte) [32]byte {
	h := sha256.New()
	h.Write(prev)
	var n [16]byte
	binary.BigEndian.PutUint64(n[:], id)
	binary.BigEndian.PutUint64(n[8:], seq)
	h.Write(n[:])
	h.Write(value)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// chainHead reads the head: the number of links and the newest link (zero for none).
func chainHead(tx *bolt.Tx) (uint64, []byte) {
	v := tx.Bucket(bucketMeta).Get(keyChainHead)
	if len(v) != 8+32 {
		return 0, make([]byte, 32)
	}
	return binary.BigEndian.Uint64(v), v[8:]
}

// chainAppend links the audit entry (id, seq) with its stored bytes value.
func chainAppend(tx *bolt.Tx, id, seq uint64, value []byte) error {
	b, err := tx.CreateBucketIfNotExists(bucketChain)
	if err != nil {
		return err
	}
	b.FillPercent = appendFill
	n, prev := chainHead(tx)
	link := chainLink(prev, id, seq, value)
	v := make([]byte, 8+chainLinkBytes)
	binary.BigEndian.PutUint64(v, id)
	copy(v[8:], link[:chainLinkBytes])
	if err := b.Put(u64(seq), v); err != nil {
		return err
	}
	head := make([]byte, 8+32)
	binary.BigEndian.PutUint64(head, n+1)
	copy(head[8:], link[:])
	return tx.Bucket(bucketMeta).Put(keyChainHead, head)
}

// ChainHead is the newest link of the audit chain (hex) and the number of entries it holds.
func (db *DB) ChainHead() (head string, entries uint64, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		n, h := chainHead(tx)
		head, entries = hex.EncodeToString(h), n
		return nil
	})
	return head, entries, err
}

// ChainReport is what VerifyChain found.
type ChainReport struct {
	Entries   uint64 // links checked
	Unchained uint64 // audit entries written before the chain existed
	Sealed    uint64 // of Entries, those kept by a compaction and linked at its checkpoint
	Removed   uint64 // detail entries a compaction removed (CompactAudit)
	Head      string // the head as recomputed from the entries
	// Break is the first place where the journal was modified ("" if none), with the record
	// and the entry it concerns; Breaks counts them all.
	Break  string
	Breaks int
}

// ErrChainBroken is wrapped by VerifyChain's error when the chain shows a modification.
var ErrChainBroken = errors.New("the audit trail was modified")

// VerifyChain walks the audit chain from its first link (through the compaction checkpoint,
// if any), recomputes every link from the entry it names and compares it with the stored one
// and with the head, then checks that
// every audit entry written since the chain began is linked. It returns the report and, if
// anything was modified, an error wrapping ErrChainBroken that names the first break.
func (db *DB) VerifyChain() (*ChainReport, error) {
	rep := &ChainReport{}
	err := db.bolt.View(func(tx *bolt.Tx) error { return verifyChain(tx, rep) })
	if err != nil {
		return rep, err
	}
	if rep.Breaks > 0 {
		return rep, fmt.Errorf("%w: %s (%d breaks in all)", ErrChainBroken, rep.Break, rep.Breaks)
	}
	return rep, nil
}

func verifyChain(tx *bolt.Tx, rep *ChainReport) error {
	brk := func(format string, args ...any) {
		if rep.Breaks == 0 {
			rep.Break = fmt.Sprintf(format, args...)
		}
		rep.Breaks++
	}
	base, ok := readBase(tx)
	if !ok {
		brk("the compaction checkpoint was changed (its checksum does not match)")
	}
	if base == nil {
		base = &chainBase{}
	}
	w := walkLinks(tx, base, brk)
	rep.Entries, rep.Sealed, rep.Removed = w.sealedN+w.liveN, w.sealedN, base.Removed
	if base.Seq > 0 && (w.sealedN != base.Sealed || !bytes.Equal(w.sealed, base.SealHead[:])) {
		brk("the compaction checkpoint (entries up to %d) does not match the entries it seals (%d sealed, %d found)", base.Seq, base.Sealed, w.sealedN)
	}
	n, head := chainHead(tx)
	rep.Head = hex.EncodeToString(w.live)
	if n != base.Links+w.liveN || !bytes.Equal(head, w.live) {
		brk("the chain's head (%d entries, %s) is not the one its entries make (%d entries, %s)", n, hex.EncodeToString(head), base.Links+w.liveN, rep.Head)
	}
	return checkLinked(tx, w.first, rep, brk)
}

// walked is what walkLinks recomputed: the last link of the sealed chain (entries up to the
// checkpoint) and of the chain after it, how many links each has, and the first sequence.
type walked struct {
	sealed, live          []byte
	sealedN, liveN, first uint64
}

// walkLinks recomputes every link from the entry it names, in sequence order: up to the
// checkpoint base in the sealed chain, after it from the original link at the checkpoint.
func walkLinks(tx *bolt.Tx, base *chainBase, brk func(string, ...any)) walked {
	w := walked{sealed: make([]byte, 32), live: base.Link[:], first: base.First}
	chain, audit := tx.Bucket(bucketChain), tx.Bucket(bucketAudit)
	if chain == nil {
		return w
	}
	c := chain.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		seq := binary.BigEndian.Uint64(k)
		if w.first == 0 {
			w.first = seq
		}
		if len(v) != 8+chainLinkBytes {
			brk("audit chain link %d is damaged", seq)
			continue
		}
		id := binary.BigEndian.Uint64(v)
		value := audit.Get(auditKey(id, seq))
		if value == nil {
			brk("audit entry %d of record #%d was removed", seq, id)
			continue
		}
		prev, count := &w.live, &w.liveN
		if seq <= base.Seq {
			prev, count = &w.sealed, &w.sealedN
		}
		link := chainLink(*prev, id, seq, value)
		if !bytes.Equal(link[:chainLinkBytes], v[8:]) {
			brk("audit entry %d of record #%d was changed (%s)", seq, id, describeEntry(value))
		}
		*prev = link[:]
		*count++
	}
	return w
}

// checkLinked finds audit entries without a link: written before the chain began
// (unchained, reported apart) or inserted since (a break).
func checkLinked(tx *bolt.Tx, first uint64, rep *ChainReport, brk func(string, ...any)) error {
	chain := tx.Bucket(bucketChain)
	return tx.Bucket(bucketAudit).ForEach(func(k, v []byte) error {
		if len(k) != 16 {
			brk("an audit entry has a malformed key %x", k)
			return nil
		}
		id, seq := binary.BigEndian.Uint64(k), binary.BigEndian.Uint64(k[8:])
		switch {
		case chain != nil && chain.Get(k[8:]) != nil:
			if l := chain.Get(k[8:]); len(l) == 8+chainLinkBytes && binary.BigEndian.Uint64(l) != id {
				brk("audit entry %d was moved to record #%d", seq, id)
			}
		case first == 0 || seq < first:
			rep.Unchained++
		default:
			brk("audit entry %d of record #%d was inserted (%s)", seq, id, describeEntry(v))
		}
		return nil
	})
}

func auditKey(id, seq uint64) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, id)
	binary.BigEndian.PutUint64(k[8:], seq)
	return k
}

// describeEntry names an entry for a break report, as far as it still decodes.
func describeEntry(value []byte) string {
	var e Entry
	if err := decodeEntry(value, &e); err != nil {
		return "it no longer decodes"
	}
	return fmt.Sprintf("step %q at %s, as it reads now", e.Step, e.Time.UTC().Format("2006-01-02 15:04:05Z"))
}
