package journal

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// State is where a file version stands.
type State string

const (
	// Discovered: settled and recorded; the archive copy is due.
	Discovered State = "discovered"
	// Uploaded: the PUT was confirmed; the conversation event is due.
	Uploaded State = "uploaded"
	// Posted: the event referencing the file was accepted. Done for the archive.
	Posted State = "posted"
	// Held: a permanent problem, with a reason; waits for an operator (archivist retry).
	Held State = "held"
	// Vanished: the file was deleted before it could be archived.
	Vanished State = "vanished"
	// Superseded: the file changed before its upload finished; the new version has its own record.
	Superseded State = "superseded"
	// Dismissed: an operator gave up on a held file (archivist dismiss), with a reason in the
	// audit trail. Final: it is not archived, and its version is not recorded again.
	Dismissed State = "dismissed"
)

// States lists every state, in pipeline order.
var States = []State{Discovered, Uploaded, Posted, Held, Vanished, Superseded, Dismissed}

// Lanes of pending work. Forwarding destinations add "fwd/<name>" lanes.
const (
	LanePut  = "put"
	LanePost = "post"
	// LaneConv is a transcript's work: parse it, wait for its attachments, post its events.
	LaneConv = "conv"
	// LaneLoose is an attachment candidate waiting to be referenced by a transcript; when it
	// comes due unreferenced, the file is posted as a loose file.
	LaneLoose = "loose"
	// LaneAfter is what happens to the file on disk once it is archived and forwarded
	// everywhere (after: move or delete), due when the retention has passed.
	LaneAfter = "after"
)

// ForwardLane is the lane of the work pending for forwarding destination name.
func ForwardLane(name string) string { return "fwd/" + name }

// Forward states.
const (
	ForwardPending = "pending"         // due (or waiting for a retry)
	ForwardSent    = "sent"            // the destination accepted it
	ForwardHeld    = "held"            // the destination refused it permanently; see Reason
	ForwardRefused = "not forwardable" // outside the destination's limits; never attempted
)

// Forward is a file version's state at one forwarding destination.
type Forward struct {
	State     string    `json:"state"`
	Reason    string    `json:"reason,omitempty"`
	Attempts  int       `json:"attempts,omitempty"`
	LastError string    `json:"lastError,omitempty"`
	RemoteID  string    `json:"remoteId,omitempty"` // what the destination returned (interaction id, documentId, attachment id)
	SentAt    time.Time `json:"sentAt,omitzero"`
	HeldAt    time.Time `json:"heldAt,omitzero"`
}

// Share is the context a transcript gave a file: where and how it was shared.
type Share struct {
	ChatID  string    `json:"chatId,omitempty"`  // the source system's chat id (Genesys)
	EndUser string    `json:"endUser,omitempty"` // the end user's client id (Salesforce "from")
	Text    string    `json:"text,omitempty"`    // what the sender wrote with the file
	Time    time.Time `json:"time,omitzero"`     // when it was shared
}

// ScheduleForwards makes every destination in names pending for this file, due at now,
// unless it has a forward state already.
func (r *Record) ScheduleForwards(names []string, now time.Time) {
	for _, name := range names {
		if r.Forwards[name] != nil {
			continue
		}
		if r.Forwards == nil {
			r.Forwards = map[string]*Forward{}
		}
		r.Forwards[name] = &Forward{State: ForwardPending}
		r.Schedule(ForwardLane(name), now)
	}
}

// ForwardsPending reports whether any forward still has work to do.
func (r *Record) ForwardsPending() bool {
	for name := range r.Forwards {
		if _, ok := r.Lanes[ForwardLane(name)]; ok {
			return true
		}
	}
	return false
}

// Roles of a record in a transcripts watch.
const (
	RoleTranscript = "transcript"
	RoleAttachment = "attachment" // any other file of a transcripts watch
	// RoleExport is a chat export (Slack, WhatsApp, Teams) read in place: its events are
	// posted from the conv lane while it stays discovered; it is never uploaded itself.
	RoleExport = "export"
)

// Record is one file version and everything done with it.
type Record struct {
	ID      uint64    `json:"id"`
	Watch   string    `json:"watch"`
	Path    RelPath   `json:"path"` // slash-separated, relative to the watch root; raw bytes
	Kind    string    `json:"kind"` // "file", "symlink", "named pipe (FIFO)", ...
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
	Inode   uint64    `json:"inode"`
	Dev     uint64    `json:"dev,omitempty"`
	Nlink   uint64    `json:"nlink,omitempty"`
	// CTime (the change time) and Birth (the birth time, where the file system reports it)
	// are what a writer cannot set back; see Version. Zero when unknown.
	CTime time.Time `json:"ctime,omitzero"`
	Birth time.Time `json:"birth,omitzero"`

	SHA256  string `json:"sha256,omitempty"`
	MIME    string `json:"mime,omitempty"`
	FileKey string `json:"fileKey,omitempty"`

	State     State  `json:"state"`
	Reason    string `json:"reason,omitempty"`    // why held, vanished or superseded
	Attempts  int    `json:"attempts,omitempty"`  // failed attempts since the last success
	LastError string `json:"lastError,omitempty"` // the most recent failure, for people

	// Lanes is the work still pending on this record, with the time each is due.
	Lanes map[string]time.Time `json:"lanes,omitempty"`

	// DuplicateOf is set when the same bytes were already stored under FileKey by another record.
	DuplicateOf uint64 `json:"duplicateOf,omitempty"`
	// PostAlone asks the poster to send this record's event in a request of its own (set after a
	// batch it was part of was refused, to find which record the refusal is about).
	PostAlone bool `json:"postAlone,omitempty"`
	// RequestID is what Global Relay returned for the accepted event request.
	RequestID string `json:"requestId,omitempty"`
	// HeldLane is the lane whose work was held (put or post), so a release resumes there.
	HeldLane string `json:"heldLane,omitempty"`

	// Role is "" for loose files, RoleTranscript or RoleAttachment in a transcripts watch.
	Role string `json:"role,omitempty"`
	// Conversation is the conversation id of a transcript.
	Conversation string `json:"conversation,omitempty"`
	// Events and EventsPosted count a transcript's events and how many of them are archived
	// (by this transcript or an earlier export of the same conversation).
	Events       int `json:"events,omitempty"`
	EventsPosted int `json:"eventsPosted,omitempty"`
	// ReferencedBy is the transcript record whose events reference this attachment.
	ReferencedBy uint64 `json:"referencedBy,omitempty"`
	// Sightings counts how often the watcher reported a held entry that is not a regular file
	// (a symlink, FIFO, ...) at this path; LastSeen is the latest. Each new appearance updates
	// the one held record instead of adding a version (0 means seen once).
	Sightings int       `json:"sightings,omitempty"`
	LastSeen  time.Time `json:"lastSeen,omitzero"`

	// Forwards is the file's state at each forwarding destination, by destination name. Its
	// pending work is the lane ForwardLane(name).
	Forwards map[string]*Forward `json:"forwards,omitempty"`
	// Share is how a transcript shared this file (chat, end user, text, time), for forwards.
	Share *Share `json:"share,omitempty"`
	// Disposed says what was done with the file on disk after archiving ("moved to ...",
	// "deleted"); empty while it is kept.
	Disposed string `json:"disposed,omitempty"`

	DiscoveredAt time.Time `json:"discoveredAt"`
	UploadedAt   time.Time `json:"uploadedAt,omitzero"`
	PostedAt     time.Time `json:"postedAt,omitzero"`
	HeldAt       time.Time `json:"heldAt,omitzero"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// Due reports whether lane is pending and its due time.
func (r *Record) Due(lane string) (time.Time, bool) {
	t, ok := r.Lanes[lane]
	return t, ok
}

// Schedule makes lane pending, due at t.
func (r *Record) Schedule(lane string, t time.Time) {
	if r.Lanes == nil {
		r.Lanes = map[string]time.Time{}
	}
	r.Lanes[lane] = t
}

// Done removes lane from the pending work.
func (r *Record) Done(lane string) { delete(r.Lanes, lane) }

// Hold moves the record to Held with reason, clearing its archive lanes and remembering which
// one was held. It fails with ErrIllegalMove (r unchanged) from a state that cannot be held.
func (r *Record) Hold(reason string, now time.Time) error {
	lane := LanePut
	switch {
	case r.Role == RoleExport:
		lane = LaneConv
	case r.State != Uploaded:
	case r.Role == RoleTranscript:
		lane = LaneConv
	default:
		lane = LanePost
	}
	if err := r.Move(Held); err != nil {
		return err
	}
	r.HeldLane = lane
	r.Reason = reason
	r.HeldAt = now
	for _, l := range []string{LanePut, LanePost, LaneConv, LaneLoose} {
		r.Done(l)
	}
	return nil
}

// Releasable reports whether a held record can be tried again: files can; symlinks, FIFOs and
// other entries that are never opened cannot.
func (r *Record) Releasable() bool { return r.State == Held && r.Kind == "file" }

// Release puts a held record back to work where it was held, due at now.
func (r *Record) Release(now time.Time) error {
	to, lane := Discovered, LanePut
	if r.Role == RoleExport && r.HeldLane == LaneConv {
		lane = LaneConv // read again in place, never uploaded
	}
	if (r.HeldLane == LanePost || r.HeldLane == LaneConv) && r.FileKey != "" {
		to, lane = Uploaded, r.HeldLane
	}
	if err := r.Move(to); err != nil {
		return err
	}
	r.Schedule(lane, now)
	r.Reason, r.HeldLane, r.Attempts = "", "", 0
	return nil
}

// String names the record for logs: "#12 teams:reports/a.pdf".
func (r *Record) String() string { return fmt.Sprintf("#%d %s:%s", r.ID, r.Watch, r.Path) }

// RelPath is a relative path kept byte for byte: a path that is not valid UTF-8 is stored as
// {"b64": "..."} so JSON does not replace its bytes.
type RelPath string

func (p RelPath) MarshalJSON() ([]byte, error) {
	if utf8.ValidString(string(p)) {
		return json.Marshal(string(p))
	}
	return json.Marshal(struct {
		B64 string `json:"b64"`
	}{base64.StdEncoding.EncodeToString([]byte(p))})
}

func (p *RelPath) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*p = RelPath(s)
		return nil
	}
	var v struct {
		B64 string `json:"b64"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("path: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(v.B64)
	if err != nil {
		return fmt.Errorf("path: %w", err)
	}
	*p = RelPath(raw)
	return nil
}

// Entry is one line of a record's audit trail.
type Entry struct {
	Time      time.Time `json:"time"`
	Step      string    `json:"step"`             // discovered, hashed, put, post, hold, retry, vanished, ...
	Lane      string    `json:"lane,omitempty"`   // which lane the step was about
	Result    string    `json:"result"`           // ok, error, skipped
	Detail    string    `json:"detail,omitempty"` // human text: reason, error, note
	FileKey   string    `json:"fileKey,omitempty"`
	Status    int       `json:"status,omitempty"` // HTTP status, if a remote answered
	RequestID string    `json:"requestId,omitempty"`
}
