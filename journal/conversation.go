package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

var bucketConversations = []byte("conversations")

// Conversation is what the archive holds of one conversation of one watch: which versions of
// its events were accepted, and by which requests. Exports of the same conversation id share
// it, so a transcript dropped again sends nothing, a re-export with more events sends only
// those, and an event whose content changed under the same id is sent again.
//
// An event is identified by its id and a digest of its content (see the pipeline); Sent holds
// them. Posted is what journals before digests hold: ids alone, whose content is unknown.
type Conversation struct {
	Watch string `json:"watch"`
	ID    string `json:"id"`
	// Posted holds event ids accepted before the journal kept digests (legacy ledgers). Such an
	// id matches only when the same transcript bytes are archived again: see LegacyMatch.
	Posted map[string]bool `json:"posted,omitempty"`
	// Sent holds, by event id, the digests of every version of the event the archive accepted.
	Sent     map[string][]string `json:"sent,omitempty"`
	Requests []ConvRequest       `json:"requests"`

	contents map[string]bool // every digest in Sent, built on first use
}

// Has reports whether the archive accepted event id with exactly this content.
func (c *Conversation) Has(id, digest string) bool { return slices.Contains(c.Sent[id], digest) }

// HasContent reports whether the archive accepted an event with this content under any id
// (for events whose id is only a position, which identifies nothing).
func (c *Conversation) HasContent(digest string) bool {
	if c.contents == nil {
		c.contents = map[string]bool{}
		for _, ds := range c.Sent {
			for _, d := range ds {
				c.contents[d] = true
			}
		}
	}
	return c.contents[digest]
}

// Known reports whether some version of event id was accepted (so a different content under
// it replaces that one).
func (c *Conversation) Known(id string) bool { return len(c.Sent[id]) > 0 || c.Posted[id] }

// Transcripts lists the transcript records whose requests the ledger holds, each once.
func (c *Conversation) Transcripts() []uint64 {
	var ids []uint64
	for _, rq := range c.Requests {
		if !slices.Contains(ids, rq.Transcript) {
			ids = append(ids, rq.Transcript)
		}
	}
	return ids
}

// ConvRequest is one accepted chunk of a conversation's events.
type ConvRequest struct {
	Time       time.Time `json:"time"`
	RequestID  string    `json:"requestId,omitempty"`
	Events     int       `json:"events"`
	Transcript uint64    `json:"transcript"` // the transcript record that posted it
}

func convKey(watch, id string) []byte { return pathKey(watch, id) }

// Conversation returns the state of watch's conversation id (empty if never posted).
func (db *DB) Conversation(watch, id string) (*Conversation, error) {
	c := &Conversation{Watch: watch, ID: id}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketConversations)
		if b == nil {
			return nil
		}
		if v := b.Get(convKey(watch, id)); v != nil {
			return json.Unmarshal(v, c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("conversation %s/%s: %w", watch, id, err)
	}
	return c, nil
}

// Chunk is one accepted request of a transcript's events, to be committed at once.
type Chunk struct {
	Transcript  uint64   // the transcript record
	Watch       string   // its watch
	Conv        string   // conversation id
	EventIDs    []string // the events the request carried
	Digests     []string // their content digests, parallel to EventIDs
	RequestID   string
	Attachments []uint64 // records whose keys the request referenced
	Last        bool     // the transcript has nothing left to post after this chunk
	// Total is the transcript's number of events; Before how many of them an earlier export
	// of the same conversation had archived already.
	Total, Before int
	// OnAttachment, if set, is applied to each referenced attachment in the same transaction
	// (the pipeline schedules its forwards with the transcript's context there).
	OnAttachment func(r *Record)
	// OnLast, if set, is applied to the transcript when Last, in the same transaction.
	OnLast func(r *Record)
	// Unresolved are the participants of the chunk's events archived under a fallback
	// address, noted in the same transaction (see NoteUnresolved), so each event counts once.
	Unresolved []Unresolved
	// Keys are the message keys of a chat export's events (see Delivered). When set, they
	// are the ledger of these events: the conversation's ledger is left as it is.
	Keys []string
}

// CommitChunk records an accepted chunk in one transaction: the conversation's posted events,
// the transcript's progress (posted and done when Last) and the attachments it referenced
// (posted, no longer waiting to go loose). A crash before this commit re-posts the chunk; none
// after it does.
func (db *DB) CommitChunk(c Chunk, now time.Time) error {
	err := db.write(func(tx *bolt.Tx) error {
		if err := addToLedger(tx, c, now); err != nil {
			return err
		}
		if err := noteUnresolved(tx, c.Unresolved, now); err != nil {
			return err
		}
		if err := addDelivered(tx, c); err != nil {
			return err
		}
		err := update(tx, c.Transcript, func(r *Record) ([]Entry, error) {
			if r.Conversation == "" {
				r.Conversation, r.Events, r.EventsPosted = c.Conv, c.Total, c.Before
			}
			r.EventsPosted += len(c.EventIDs)
			r.RequestID = c.RequestID
			e := Entry{Time: now, Step: "post", Lane: LaneConv, Result: "ok", RequestID: c.RequestID,
				Detail: fmt.Sprintf("%d events of conversation %s accepted", len(c.EventIDs), c.Conv)}
			if c.Last {
				if err := r.Move(Posted); err != nil {
					return nil, err
				}
				r.PostedAt = now
				r.Attempts, r.LastError = 0, ""
				r.Done(LaneConv)
				if c.OnLast != nil {
					c.OnLast(r)
				}
			}
			return []Entry{e}, nil
		})
		if err != nil {
			return err
		}
		for _, id := range c.Attachments {
			if err := commitAttachment(tx, c, id, now); err != nil && !errors.Is(err, ErrSkip) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("journal: commit chunk of conversation %s: %w", c.Conv, err)
	}
	return nil
}

// commitAttachment records that chunk c referenced attachment id: posted (if it was only
// uploaded), no longer waiting to go loose. ErrSkip if it is neither uploaded nor posted.
func commitAttachment(tx *bolt.Tx, c Chunk, id uint64, now time.Time) error {
	return update(tx, id, func(r *Record) ([]Entry, error) {
		if r.State != Uploaded && r.State != Posted {
			return nil, ErrSkip
		}
		r.ReferencedBy = c.Transcript
		r.Done(LaneLoose)
		if c.OnAttachment != nil {
			c.OnAttachment(r)
		}
		if r.State == Posted {
			return []Entry{{Time: now, Step: "post", Result: "ok", FileKey: r.FileKey, RequestID: c.RequestID,
				Detail: fmt.Sprintf("referenced again by transcript #%d", c.Transcript)}}, nil
		}
		if err := r.Move(Posted); err != nil {
			return nil, err
		}
		r.PostedAt, r.RequestID = now, c.RequestID
		r.LastError = "" // a note that it waited for this transcript
		if c.OnAttachment != nil {
			c.OnAttachment(r) // again: now posted
		}
		return []Entry{{Time: now, Step: "post", Result: "ok", FileKey: r.FileKey, RequestID: c.RequestID,
			Detail: fmt.Sprintf("File_transfer event of transcript #%d accepted", c.Transcript)}}, nil
	})
}

// addToLedger records chunk c's events (id and digest) and request in its conversation.
func addToLedger(tx *bolt.Tx, c Chunk, now time.Time) error {
	if len(c.Digests) != len(c.EventIDs) {
		return fmt.Errorf("%d digests for %d events", len(c.Digests), len(c.EventIDs))
	}
	if len(c.Keys) > 0 {
		// An export's events: the delivered ledger holds them, and the export's audit trail
		// its requests. Rewriting the conversation's ledger at every request would cost time
		// quadratic in the length of a long chat.
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(bucketConversations)
	if err != nil {
		return err
	}
	conv := &Conversation{Watch: c.Watch, ID: c.Conv}
	if v := b.Get(convKey(c.Watch, c.Conv)); v != nil {
		if err := json.Unmarshal(v, conv); err != nil {
			return err
		}
	}
	if conv.Sent == nil {
		conv.Sent = map[string][]string{}
	}
	for i, id := range c.EventIDs {
		if !slices.Contains(conv.Sent[id], c.Digests[i]) {
			conv.Sent[id] = append(conv.Sent[id], c.Digests[i])
		}
	}
	conv.Requests = append(conv.Requests, ConvRequest{Time: now, RequestID: c.RequestID, Events: len(c.EventIDs), Transcript: c.Transcript})
	v, err := json.Marshal(conv)
	if err != nil {
		return err
	}
	return b.Put(convKey(c.Watch, c.Conv), v)
}

// LegacyMatch reports whether the ids c holds without digests (Posted) stand for the events of
// a transcript whose bytes have SHA-256 sum: they do when a transcript that posted into c had
// exactly these bytes (the same export dropped again). Otherwise their content is unknown and
// they match nothing, so the events are sent again rather than skipped unseen.
func (db *DB) LegacyMatch(c *Conversation, sum string) bool {
	if len(c.Posted) == 0 || sum == "" {
		return false
	}
	for _, id := range c.Transcripts() {
		if r, err := db.Get(id); err == nil && r.SHA256 == sum {
			return true
		}
	}
	return false
}
