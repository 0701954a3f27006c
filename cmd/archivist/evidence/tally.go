package evidence

import (
	"time"

	"github.com/archivist-project/archivist/journal"
)

// Period is a span of whole days, [From, To), in some time zone.
type Period struct {
	From, To time.Time
}

// Days is the period's length in days.
func (p Period) Days() int { return int(p.To.Sub(p.From).Hours()/24 + 0.5) }

// Contains reports whether t is in the period.
func (p Period) Contains(t time.Time) bool { return !t.Before(p.From) && t.Before(p.To) }

// Counts is what happened to the files discovered in a period, the way a daily message
// reconciliation report counts (collected / archived / duplicate / failed / unprocessed).
type Counts struct {
	Discovered int64 `json:"discovered"`
	Archived   int64 `json:"archived"`   // posted: the archive holds the bytes and the event
	Duplicates int64 `json:"duplicates"` // of which: the same bytes as an earlier record (no second upload)
	Held       int64 `json:"held"`
	Pending    int64 `json:"pending"` // in progress
	Vanished   int64 `json:"vanished"`
	Superseded int64 `json:"superseded"`
	Dismissed  int64 `json:"dismissed"` // held files an operator gave up on (archivist dismiss)
}

// Forwards counts a destination's forwards of the files discovered in a period.
type Forwards struct {
	Sent    int64 `json:"sent"`
	Held    int64 `json:"held"`
	Pending int64 `json:"pending"`
}

// Tally counts the files discovered in a period, in all and per watch, their forwards per
// destination, and archived files and bytes per hour (by when they were archived).
type Tally struct {
	Period       Period               `json:"-"`
	Total        Counts               `json:"total"`
	Watches      map[string]*Counts   `json:"watches"`
	Destinations map[string]*Forwards `json:"destinations"`
	Hours        []Hour               `json:"-"`
}

// Hour is one hour of archiving.
type Hour struct {
	Start time.Time
	Files int64
	Bytes int64
}

// maxTallyHours bounds the hours kept (and the memory of one count) to 92 days.
const maxTallyHours = 92 * 24

// NewTally starts counting period p.
func NewTally(p Period) *Tally {
	t := &Tally{Period: p, Watches: map[string]*Counts{}, Destinations: map[string]*Forwards{}}
	for h := p.From; h.Before(p.To) && len(t.Hours) < maxTallyHours; h = h.Add(time.Hour) {
		t.Hours = append(t.Hours, Hour{Start: h})
	}
	return t
}

// Add counts one record.
func (t *Tally) Add(r *journal.Record) {
	p := t.Period
	if r.State == journal.Posted && p.Contains(r.PostedAt) {
		if i := int(r.PostedAt.Sub(p.From) / time.Hour); i < len(t.Hours) {
			t.Hours[i].Files++
			t.Hours[i].Bytes += r.Size
		}
	}
	if !p.Contains(r.DiscoveredAt) {
		return
	}
	w := t.Watches[r.Watch]
	if w == nil {
		w = &Counts{}
		t.Watches[r.Watch] = w
	}
	w.add(r)
	t.Total.add(r)
	for name, f := range r.Forwards {
		d := t.Destinations[name]
		if d == nil {
			d = &Forwards{}
			t.Destinations[name] = d
		}
		switch f.State {
		case journal.ForwardSent:
			d.Sent++
		case journal.ForwardHeld, journal.ForwardRefused:
			d.Held++
		default:
			d.Pending++
		}
	}
}

func (c *Counts) add(r *journal.Record) {
	c.Discovered++
	switch r.State {
	case journal.Posted:
		c.Archived++
		if r.DuplicateOf != 0 {
			c.Duplicates++
		}
	case journal.Held:
		c.Held++
	case journal.Vanished:
		c.Vanished++
	case journal.Superseded:
		c.Superseded++
	case journal.Dismissed:
		c.Dismissed++
	default:
		c.Pending++
	}
}
