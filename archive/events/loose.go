// Package events builds the Global Relay requests of archivist: the File_transfer events of
// loose files and the events of parsed transcripts. Its functions are pure: records and
// transcripts in, requests out; no journal, no network, no goroutines. What is sent is
// decided here, when and whether it is sent is the pipeline's.
package events

import (
	"strings"
	"time"

	"github.com/archivist-project/archivist/archive/filekey"
	"github.com/archivist-project/archivist/archive/globalrelay"
	"github.com/archivist-project/archivist/journal"
)

// Source is what the events need to know of the watch a file came from.
type Source struct {
	Watch        string // the watch's name
	SenderName   string // initiator of loose-file events
	SenderEmail  string
	InlineImages bool // images are shown inline in the archive
}

// Limits bound the requests of one conversation.
type Limits struct {
	ConversationType string
	MaxEvents        int // events per request
	MaxBytes         int // bytes of JSON per request
}

// Loose builds the request for a batch of loose files of one folder of watch src: one
// File_transfer event per file, the watch's sender the initiator of each.
func Loose(conversationType string, src Source, recs []*journal.Record) *globalrelay.Conversation {
	sender := globalrelay.Participant{DisplayName: src.SenderName, CorporateEmail: src.SenderEmail, UserType: globalrelay.UserInitiator}
	conv := &globalrelay.Conversation{
		Overview: globalrelay.Overview{
			ConversationType:    conversationType,
			InitiatorName:       src.SenderName,
			InitiatorEmail:      src.SenderEmail,
			InitialParticipants: []globalrelay.Participant{sender},
		},
	}
	for _, r := range recs {
		t := EventTime(r)
		if conv.Overview.CreatedAt == 0 || t < conv.Overview.CreatedAt {
			conv.Overview.CreatedAt = t
		}
		conv.Events = append(conv.Events, globalrelay.Event{
			EventTime:    t,
			EventType:    globalrelay.EventFileTransfer,
			Participants: []globalrelay.Participant{sender},
			SystemText:   "File archived from " + src.Watch + ":" + strings.ToValidUTF8(string(r.Path), "\uFFFD"),
			Files: []globalrelay.FileRef{{
				Filename:  filekey.DisplayName(string(r.Path)),
				FileKey:   r.FileKey,
				IsInlined: src.InlineImages && strings.HasPrefix(r.MIME, "image/"),
			}},
		})
	}
	return conv
}

// EventTime is when the file was shared: its modification time, unless that is implausible
// (before 2000 or in the future), then when archivist discovered it. Epoch milliseconds.
func EventTime(r *journal.Record) int64 {
	t := r.ModTime
	if t.Year() < 2000 || t.After(r.DiscoveredAt.Add(time.Minute)) {
		t = r.DiscoveredAt
	}
	return t.UnixMilli()
}
