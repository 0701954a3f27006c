package posting

import (
	"github.com/archivist-project/archivist/archive/events"
	"github.com/archivist-project/archivist/archive/identity"
	"github.com/archivist-project/archivist/archive/transcript"
	"github.com/archivist-project/archivist/archive/transcript/whatsapp"
	"github.com/archivist-project/archivist/journal"
)

// identities is the identity directory in force (nil: none configured).
func (p *Lane) identities() *identity.Directory {
	if p.deps.Identities == nil {
		return nil
	}
	return p.deps.Identities()
}

// resolve gives every participant of conv its address and name (the export's, else the
// identity directory's, else the reserved fallback) and returns, by id, those archived
// under the fallback. Someone an event names but the batch does not list is added by id.
func (x *exportRun) resolve(conv *transcript.Conversation) map[string]journal.Unresolved {
	known := map[string]bool{}
	for _, pt := range conv.Participants {
		known[pt.ID] = true
	}
	for _, e := range conv.Events {
		for _, id := range eventPeople(e) {
			if !known[id] {
				known[id] = true
				conv.Participants = append(conv.Participants, transcript.Participant{ID: id})
			}
		}
	}
	dir, source := x.p.identities(), x.src.Format()
	out := map[string]journal.Unresolved{}
	for i, pt := range conv.Participants {
		person := dir.Resolve(source, pt.ID, pt.Email, pt.DisplayName)
		conv.Participants[i].Email, conv.Participants[i].DisplayName = person.Email, person.Name
		if !person.Resolved && !notPerson(source, pt) {
			out[pt.ID] = journal.Unresolved{Source: source, ID: pt.ID, Name: pt.DisplayName, Watch: x.r.Watch}
		}
	}
	return out
}

// notPerson reports whether pt is a bot or the system itself: archived under the fallback
// address like anyone the directory does not know, but not counted as a person to resolve.
func notPerson(source string, pt transcript.Participant) bool {
	return pt.Role == "bot" || pt.Role == "system" || (source == whatsapp.Format && pt.ID == whatsapp.SystemID)
}

// eventPeople are the ids an event names: its sender, recipients and affected members.
func eventPeople(e transcript.Event) []string {
	ids := make([]string, 0, 1+len(e.To)+len(e.Affected))
	if e.From != "" {
		ids = append(ids, e.From)
	}
	ids = append(ids, e.To...)
	return append(ids, e.Affected...)
}

// unresolvedIn is the unresolved people of chunk ch, each with the number of its events
// that carry them, for the ledger of unresolved participants.
func unresolvedIn(conv *transcript.Conversation, ch events.Chunk, unresolved map[string]journal.Unresolved) []journal.Unresolved {
	if len(unresolved) == 0 {
		return nil
	}
	inChunk := make(map[string]bool, len(ch.IDs))
	for _, id := range ch.IDs {
		inChunk[id] = true
	}
	counts := map[string]int64{}
	var order []string
	for _, e := range conv.Events {
		if !inChunk[e.ID] {
			continue
		}
		seen := map[string]bool{}
		for _, id := range eventPeople(e) {
			if _, ok := unresolved[id]; !ok || seen[id] {
				continue
			}
			seen[id] = true
			if counts[id] == 0 {
				order = append(order, id)
			}
			counts[id]++
		}
	}
	out := make([]journal.Unresolved, 0, len(order))
	for _, id := range order {
		u := unresolved[id]
		u.Events = counts[id]
		out = append(out, u)
	}
	return out
}
