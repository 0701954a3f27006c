// Package journal is archivist's durable memory: a bbolt file with one record per file
// version, the queue of due work, and an audit trail of every step.
//
// The journal, not memory, is the queue. A record carries the lanes of work still pending on
// it ("put" and "post" for the archive; later one per forwarding destination), each with a due
// time; the due index holds exactly those lanes, one bucket per lane, so a worker finds the next
// due item without scanning records. Every change goes through Update, which keeps the indexes
// (paths, due, keys, state counts) in step with the record and appends the audit entries in the
// same transaction: a state is either committed with its indexes and audit line, or not at all.
//
// Buckets:
//
//	meta     schema version, state counts
//	records  id (uint64, big-endian) -> record (binary, codec.go; JSON before schema 2)
//	paths    watch \x00 relpath -> fingerprint of the newest version (id, size, mtime, inode, kind,
//	         change time, birth time, device; see Fingerprint.encode)
//	due      one sub-bucket per lane: due time (int64 ns, big-endian) ++ id -> empty
//	keys     fileKey -> id of the first record whose PUT of it was confirmed
//	audit    id ++ sequence -> entry (binary, codec.go; JSON before schema 2)
//	conversations  watch \x00 conversation id -> the ledger of accepted events: ids and content digests (JSON)
//	claims   what waiting or held transcripts reference and still miss (claims.go)
//
// It does not decide what happens to a file (that is the archive pipeline) and never deletes a
// record.
package journal
