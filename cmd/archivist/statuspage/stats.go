package statuspage

import (
	"time"

	"github.com/archivist-project/archivist/journal"
)

// Period is a span of whole days, [From, To), in the page's time zone.
type Period struct {
	From, To time.Time
}

// Days is the period's length in days.
func (p Period) Days() int { return int(p.To.Sub(p.From).Hours()/24 + 0.5) }

func (p Period) contains(t time.Time) bool { return !t.Before(p.From) && t.Before(p.To) }

// Stats counts what happened to the files discovered in a period, the way a daily
// reconciliation report (collected / archived / duplicate / failed / unprocessed) does.
type Stats struct {
	Discovered int64
	Archived   int64 // posted: the archive holds the bytes and the event
	Duplicates int64 // posted as the same bytes as an earlier record (no second upload)
	Held       int64
	Pending    int64 // in progress
	Vanished   int64
	Superseded int64
	// Forwarded counts, per destination, the files sent; ForwardHeld those the destination
	// refused.
	Forwarded   map[string]int64
	ForwardHeld map[string]int64
	// Hours holds archived files and bytes per hour of the period, by the time they were
	// posted (len = 24 × days).
	Hours []Hour
}

// Hour is one bar of the chart.
type Hour struct {
	Start time.Time
	Files int64
	Bytes int64
}

// maxChartHours bounds the chart (and the memory of one page view) to 92 days.
const maxChartHours = 92 * 24

func newStats(p Period) *Stats {
	s := &Stats{Forwarded: map[string]int64{}, ForwardHeld: map[string]int64{}}
	for t := p.From; t.Before(p.To) && len(s.Hours) < maxChartHours; t = t.Add(time.Hour) {
		s.Hours = append(s.Hours, Hour{Start: t})
	}
	return s
}

// add counts one record: by its discovery in the period, and by its archiving in the period
// for the chart.
func (s *Stats) add(p Period, r *journal.Record) {
	if p.contains(r.PostedAt) && r.State == journal.Posted {
		if i := int(r.PostedAt.Sub(p.From) / time.Hour); i < len(s.Hours) {
			s.Hours[i].Files++
			s.Hours[i].Bytes += r.Size
		}
	}
	if !p.contains(r.DiscoveredAt) {
		return
	}
	s.Discovered++
	switch r.State {
	case journal.Posted:
		s.Archived++
		if r.DuplicateOf != 0 {
			s.Duplicates++
		}
	case journal.Held:
		s.Held++
	case journal.Vanished:
		s.Vanished++
	case journal.Superseded:
		s.Superseded++
	default:
		s.Pending++
	}
	for name, f := range r.Forwards {
		switch f.State {
		case journal.ForwardSent:
			s.Forwarded[name]++
		case journal.ForwardHeld:
			s.ForwardHeld[name]++
		}
	}
}
