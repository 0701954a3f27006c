package journal

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// Records and audit entries are stored in a compact binary form. JSON was the first
// encoding: decoding and encoding records took a third of the daemon's CPU in a burst of
// small files (every file's record is read and rewritten three times on its way through).
// Values written before schema 2 are JSON and still read: a value that starts with '{' is
// decoded as JSON; the next write of that record stores it in binary.
//
// A binary value is the version byte binaryV1, then fields: a uvarint key (tag<<3 | wire
// type) and the value, as in Protocol Buffers, so that a field this code does not know (one a
// later version added) is skipped rather than misread. Wire types: wireVarint (integers,
// signed ones zig-zag encoded, booleans) and wireBytes (uvarint length, then the bytes: strings,
// times, and nested groups of fields such as a lane or a forward). Zero values are left out.
// A time is a varint of Unix seconds and a uvarint of nanoseconds, decoded as UTC; the zero
// time is left out, so any time a file system can report survives the round trip.
const binaryV1 = 0x01

const (
	wireVarint = 0
	wireBytes  = 2
)

// errCorrupt means a stored value cannot be decoded.
var errCorrupt = errors.New("corrupt value")

// Tags of Record's fields. Never reuse or renumber one: stored records keep them.
const (
	rID = iota + 1
	rWatch
	rPath
	rKind
	rSize
	rModTime
	rInode
	rDev
	rNlink
	rSHA256
	rMIME
	rFileKey
	rState
	rReason
	rAttempts
	rLastError
	rLane // repeated group: laneName, laneDue
	rDuplicateOf
	rPostAlone
	rRequestID
	rHeldLane
	rRole
	rConversation
	rEvents
	rEventsPosted
	rReferencedBy
	rForward // repeated group: fName and the Forward's fields
	rShare   // group: Share's fields
	rDisposed
	rDiscoveredAt
	rUploadedAt
	rPostedAt
	rHeldAt
	rUpdatedAt
	rCTime
	rBirth
)

// Tags of Record's fields added apart from the list above (numbered explicitly, far from it,
// so fields added there do not collide with them).
const (
	rSightings = 64 + iota
	rLastSeen
)

// Tags inside groups.
const (
	laneName = iota + 1
	laneDue
)

const (
	fName = iota + 1
	fState
	fReason
	fAttempts
	fLastError
	fRemoteID
	fSentAt
	fHeldAt
)

const (
	sChatID = iota + 1
	sEndUser
	sText
	sTime
)

// Tags of Entry's fields.
const (
	eTime = iota + 1
	eStep
	eLane
	eResult
	eDetail
	eFileKey
	eStatus
	eRequestID
)

// maxSeconds bounds a stored time (about 35 million years either side of 1970), well inside
// what time.Time holds without overflow.
const maxSeconds = 1 << 50

// enc appends fields to a buffer.
type enc struct{ b []byte }

func (e *enc) key(tag, wire int) { e.b = binary.AppendUvarint(e.b, uint64(tag)<<3|uint64(wire)) }

func (e *enc) uint(tag int, v uint64) {
	if v != 0 {
		e.key(tag, wireVarint)
		e.b = binary.AppendUvarint(e.b, v)
	}
}

func (e *enc) int(tag int, v int64) {
	if v != 0 {
		e.key(tag, wireVarint)
		e.b = binary.AppendVarint(e.b, v)
	}
}

func (e *enc) bool(tag int, v bool) {
	if v {
		e.uint(tag, 1)
	}
}

func (e *enc) str(tag int, s string) {
	if s != "" {
		e.key(tag, wireBytes)
		e.b = binary.AppendUvarint(e.b, uint64(len(s)))
		e.b = append(e.b, s...)
	}
}

func (e *enc) time(tag int, t time.Time) {
	if t.IsZero() {
		return
	}
	var tmp [2 * binary.MaxVarintLen64]byte
	n := binary.PutVarint(tmp[:], t.Unix())
	n += binary.PutUvarint(tmp[n:], uint64(t.Nanosecond()))
	e.str(tag, string(tmp[:n]))
}

// group appends a nested group of fields written by fn.
func (e *enc) group(tag int, fn func(g *enc)) {
	var g enc
	fn(&g)
	e.key(tag, wireBytes)
	e.b = binary.AppendUvarint(e.b, uint64(len(g.b)))
	e.b = append(e.b, g.b...)
}

// dec reads fields; the first error sticks.
type dec struct {
	b   []byte
	err error
}

func (d *dec) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{errCorrupt}, args...)...)
	}
}

// next reads the next field's key: its tag and wire type; ok is false at the end or on error.
func (d *dec) next() (tag, wire int, ok bool) {
	if d.err != nil || len(d.b) == 0 {
		return 0, 0, false
	}
	k, n := binary.Uvarint(d.b)
	if n <= 0 || k>>3 == 0 || k>>3 > math.MaxInt32 {
		d.fail("bad field key")
		return 0, 0, false
	}
	d.b = d.b[n:]
	return int(k >> 3), int(k & 7), true
}

func (d *dec) uint(wire int) uint64 {
	if wire != wireVarint {
		d.fail("wire type %d where a number belongs", wire)
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) int(wire int) int64 {
	u := d.uint(wire)
	return int64(u>>1) ^ -int64(u&1) // zig-zag, as binary.AppendVarint writes it
}

func (d *dec) bytes(wire int) []byte {
	if wire != wireBytes {
		d.fail("wire type %d where bytes belong", wire)
		return nil
	}
	l, n := binary.Uvarint(d.b)
	if n <= 0 || l > uint64(len(d.b)-n) {
		d.fail("bad length")
		return nil
	}
	v := d.b[n : n+int(l)]
	d.b = d.b[n+int(l):]
	return v
}

func (d *dec) str(wire int) string { return string(d.bytes(wire)) }

func (d *dec) time(wire int) time.Time {
	b := d.bytes(wire)
	if d.err != nil {
		return time.Time{}
	}
	sec, n := binary.Varint(b)
	if n <= 0 || sec > maxSeconds || sec < -maxSeconds {
		d.fail("bad time")
		return time.Time{}
	}
	nsec, m := binary.Uvarint(b[n:])
	if m <= 0 || nsec >= 1e9 {
		d.fail("bad time")
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// skip passes over a field this code does not know.
func (d *dec) skip(wire int) {
	switch wire {
	case wireVarint:
		d.uint(wire)
	case wireBytes:
		d.bytes(wire)
	default:
		d.fail("unknown wire type %d", wire)
	}
}

// each calls fn for every field left, in order, and returns the first error.
func (d *dec) each(fn func(d *dec, tag, wire int)) error {
	for {
		tag, w, ok := d.next()
		if !ok {
			return d.err
		}
		fn(d, tag, w)
	}
}

// group decodes a nested group with fn, field by field.
func (d *dec) group(wire int, fn func(g *dec, tag, wire int)) {
	g := dec{b: d.bytes(wire)}
	if d.err != nil {
		return
	}
	if err := g.each(fn); err != nil && d.err == nil {
		d.err = err
	}
}

// decodeValue reads a stored value into v: JSON (written before schema 2) with
// json.Unmarshal, binary field by field with fn. what names the value in errors.
func decodeValue(b []byte, what string, v any, fn func(d *dec, tag, wire int)) error {
	if len(b) > 0 && b[0] == '{' {
		return json.Unmarshal(b, v)
	}
	if len(b) == 0 || b[0] != binaryV1 {
		return fmt.Errorf("%w: unknown %s encoding", errCorrupt, what)
	}
	d := dec{b: b[1:]}
	return d.each(fn)
}

// encodeRecord returns the stored form of r.
func encodeRecord(r *Record) []byte {
	e := enc{b: make([]byte, 1, 256)}
	e.b[0] = binaryV1
	e.uint(rID, r.ID)
	e.str(rWatch, r.Watch)
	e.str(rPath, string(r.Path))
	e.str(rKind, r.Kind)
	e.int(rSize, r.Size)
	e.time(rModTime, r.ModTime)
	e.uint(rInode, r.Inode)
	e.uint(rDev, r.Dev)
	e.uint(rNlink, r.Nlink)
	e.str(rSHA256, r.SHA256)
	e.str(rMIME, r.MIME)
	e.str(rFileKey, r.FileKey)
	e.str(rState, string(r.State))
	e.str(rReason, r.Reason)
	e.int(rAttempts, int64(r.Attempts))
	e.str(rLastError, r.LastError)
	for lane, t := range r.Lanes {
		e.group(rLane, func(g *enc) {
			g.str(laneName, lane)
			g.time(laneDue, t)
		})
	}
	e.uint(rDuplicateOf, r.DuplicateOf)
	e.bool(rPostAlone, r.PostAlone)
	e.str(rRequestID, r.RequestID)
	e.str(rHeldLane, r.HeldLane)
	e.str(rRole, r.Role)
	e.str(rConversation, r.Conversation)
	e.int(rEvents, int64(r.Events))
	e.int(rEventsPosted, int64(r.EventsPosted))
	e.uint(rReferencedBy, r.ReferencedBy)
	e.int(rSightings, int64(r.Sightings))
	e.time(rLastSeen, r.LastSeen)
	encodeForwards(&e, r.Forwards)
	encodeShare(&e, r.Share)
	e.str(rDisposed, r.Disposed)
	e.time(rDiscoveredAt, r.DiscoveredAt)
	e.time(rUploadedAt, r.UploadedAt)
	e.time(rPostedAt, r.PostedAt)
	e.time(rHeldAt, r.HeldAt)
	e.time(rUpdatedAt, r.UpdatedAt)
	e.time(rCTime, r.CTime)
	e.time(rBirth, r.Birth)
	return e.b
}

// decodeRecord reads a stored record, binary or (written before schema 2) JSON.
func encodeForwards(e *enc, fws map[string]*Forward) {
	for name, f := range fws {
		if f == nil {
			continue
		}
		e.group(rForward, func(g *enc) {
			g.str(fName, name)
			g.str(fState, f.State)
			g.str(fReason, f.Reason)
			g.int(fAttempts, int64(f.Attempts))
			g.str(fLastError, f.LastError)
			g.str(fRemoteID, f.RemoteID)
			g.time(fSentAt, f.SentAt)
			g.time(fHeldAt, f.HeldAt)
		})
	}
}

func encodeShare(e *enc, s *Share) {
	if s == nil {
		return
	}
	e.group(rShare, func(g *enc) {
		g.str(sChatID, s.ChatID)
		g.str(sEndUser, s.EndUser)
		g.str(sText, s.Text)
		g.time(sTime, s.Time)
	})
}

func decodeRecord(b []byte, r *Record) error {
	return decodeValue(b, "record", r, func(d *dec, tag, w int) {
		if !decodeFileField(d, tag, w, r) && !decodeWorkField(d, tag, w, r) && !decodeWhenField(d, tag, w, r) {
			d.skip(w)
		}
	})
}

// decodeFileField decodes a field saying which file version the record is; false if tag is
// not one.
func decodeFileField(d *dec, tag, w int, r *Record) bool {
	switch tag {
	case rID:
		r.ID = d.uint(w)
	case rWatch:
		r.Watch = d.str(w)
	case rPath:
		r.Path = RelPath(d.str(w))
	case rKind:
		r.Kind = d.str(w)
	case rSize:
		r.Size = d.int(w)
	case rModTime:
		r.ModTime = d.time(w)
	case rInode:
		r.Inode = d.uint(w)
	case rDev:
		r.Dev = d.uint(w)
	case rNlink:
		r.Nlink = d.uint(w)
	case rCTime:
		r.CTime = d.time(w)
	case rBirth:
		r.Birth = d.time(w)
	case rSHA256:
		r.SHA256 = d.str(w)
	case rMIME:
		r.MIME = d.str(w)
	case rFileKey:
		r.FileKey = d.str(w)
	default:
		return false
	}
	return true
}

// decodeWorkField decodes a field of the record's progress through the lanes; false if tag
// is not one.
func decodeWorkField(d *dec, tag, w int, r *Record) bool {
	switch tag {
	case rState:
		r.State = State(d.str(w))
	case rReason:
		r.Reason = d.str(w)
	case rAttempts:
		r.Attempts = int(d.int(w))
	case rLastError:
		r.LastError = d.str(w)
	case rLane:
		decodeLane(d, w, r)
	case rDuplicateOf:
		r.DuplicateOf = d.uint(w)
	case rPostAlone:
		r.PostAlone = d.uint(w) != 0
	case rRequestID:
		r.RequestID = d.str(w)
	case rHeldLane:
		r.HeldLane = d.str(w)
	case rRole:
		r.Role = d.str(w)
	case rConversation:
		r.Conversation = d.str(w)
	case rEvents:
		r.Events = int(d.int(w))
	case rEventsPosted:
		r.EventsPosted = int(d.int(w))
	case rReferencedBy:
		r.ReferencedBy = d.uint(w)
	case rForward:
		decodeForward(d, w, r)
	case rShare:
		r.Share = decodeShare(d, w)
	case rDisposed:
		r.Disposed = d.str(w)
	default:
		return false
	}
	return true
}

// decodeWhenField decodes a field saying when something happened to the record; false if
// tag is not one.
func decodeWhenField(d *dec, tag, w int, r *Record) bool {
	switch tag {
	case rSightings:
		r.Sightings = int(d.int(w))
	case rLastSeen:
		r.LastSeen = d.time(w)
	case rDiscoveredAt:
		r.DiscoveredAt = d.time(w)
	case rUploadedAt:
		r.UploadedAt = d.time(w)
	case rPostedAt:
		r.PostedAt = d.time(w)
	case rHeldAt:
		r.HeldAt = d.time(w)
	case rUpdatedAt:
		r.UpdatedAt = d.time(w)
	default:
		return false
	}
	return true
}

func decodeLane(d *dec, w int, r *Record) {
	var name string
	var due time.Time
	d.group(w, func(g *dec, tag, w int) {
		switch tag {
		case laneName:
			name = g.str(w)
		case laneDue:
			due = g.time(w)
		default:
			g.skip(w)
		}
	})
	if r.Lanes == nil {
		r.Lanes = map[string]time.Time{}
	}
	r.Lanes[name] = due
}

func decodeForward(d *dec, w int, r *Record) {
	var name string
	f := new(Forward)
	d.group(w, func(g *dec, tag, w int) {
		switch tag {
		case fName:
			name = g.str(w)
		case fState:
			f.State = g.str(w)
		case fReason:
			f.Reason = g.str(w)
		case fAttempts:
			f.Attempts = int(g.int(w))
		case fLastError:
			f.LastError = g.str(w)
		case fRemoteID:
			f.RemoteID = g.str(w)
		case fSentAt:
			f.SentAt = g.time(w)
		case fHeldAt:
			f.HeldAt = g.time(w)
		default:
			g.skip(w)
		}
	})
	if r.Forwards == nil {
		r.Forwards = map[string]*Forward{}
	}
	r.Forwards[name] = f
}

func decodeShare(d *dec, w int) *Share {
	s := new(Share)
	d.group(w, func(g *dec, tag, w int) {
		switch tag {
		case sChatID:
			s.ChatID = g.str(w)
		case sEndUser:
			s.EndUser = g.str(w)
		case sText:
			s.Text = g.str(w)
		case sTime:
			s.Time = g.time(w)
		default:
			g.skip(w)
		}
	})
	return s
}

// encodeEntry returns the stored form of an audit entry.
func encodeEntry(en Entry) []byte {
	e := enc{b: make([]byte, 1, 128)}
	e.b[0] = binaryV1
	e.time(eTime, en.Time)
	e.str(eStep, en.Step)
	e.str(eLane, en.Lane)
	e.str(eResult, en.Result)
	e.str(eDetail, en.Detail)
	e.str(eFileKey, en.FileKey)
	e.int(eStatus, int64(en.Status))
	e.str(eRequestID, en.RequestID)
	return e.b
}

// decodeEntry reads a stored audit entry, binary or (written before schema 2) JSON.
func decodeEntry(b []byte, en *Entry) error {
	return decodeValue(b, "audit entry", en, func(d *dec, tag, w int) {
		switch tag {
		case eTime:
			en.Time = d.time(w)
		case eStep:
			en.Step = d.str(w)
		case eLane:
			en.Lane = d.str(w)
		case eResult:
			en.Result = d.str(w)
		case eDetail:
			en.Detail = d.str(w)
		case eFileKey:
			en.FileKey = d.str(w)
		case eStatus:
			en.Status = int(d.int(w))
		case eRequestID:
			en.RequestID = d.str(w)
		default:
			d.skip(w)
		}
	})
}
