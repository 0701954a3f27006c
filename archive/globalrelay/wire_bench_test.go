package globalrelay_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/globalrelay"
)

// fileTransfers is a conversation as the pipeline posts a full batch: n File_transfer events
// of one folder, each referencing one stored file.
func fileTransfers(n int) *globalrelay.Conversation {
	sender := globalrelay.Participant{DisplayName: "Teams export", CorporateEmail: "archive@example.com", UserType: globalrelay.UserInitiator}
	t := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	conv := &globalrelay.Conversation{Overview: globalrelay.Overview{
		ConversationType: "bench", InitiatorName: sender.DisplayName, InitiatorEmail: sender.CorporateEmail,
		CreatedAt: t, InitialParticipants: []globalrelay.Participant{sender},
	}}
	for i := range n {
		name := fmt.Sprintf("file-%05d.txt", i)
		conv.Events = append(conv.Events, globalrelay.Event{
			EventTime: t + int64(i), EventType: globalrelay.EventFileTransfer,
			Participants: []globalrelay.Participant{sender},
			SystemText:   "File archived from teams:exports/2024-06/" + name,
			Files: []globalrelay.FileRef{{
				Filename: name,
				FileKey:  fmt.Sprintf("default/teams/%064x/%s", i, name),
			}},
		})
	}
	return conv
}

// BenchmarkMarshalConversation100 encodes one request of 100 File_transfer events (the
// default max_events_per_request); bytes/s is JSON produced.
func BenchmarkMarshalConversation100(b *testing.B) {
	conv := fileTransfers(100)
	body, err := json.Marshal(conv)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(conv); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "events/s")
}
