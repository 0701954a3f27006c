package teams

import (
	"slices"
	"strings"
	"testing"

	"github.com/archivist-project/archivist/archive/transcript"
)

// The fixtures are written from Microsoft Graph's documentation of chatMessage (List
// messages in a chat, Get chatMessage, Working with Teams messaging APIs, System messages):
// its shapes, ids and fictional people; no real tenant's data.

func checkLines(t *testing.T, events []transcript.Event, want []string) {
	t.Helper()
	var got []string
	for _, e := range events {
		got = append(got, line(e))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestChatFixture: a chat dump as GET /chats/{id}/messages returns it, newest first.
func TestChatFixture(t *testing.T) {
	batches, err := readAll(t, readFixture(t, "chat.teams.json"), Options{Directory: fixtureDirectory(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 {
		t.Fatalf("%d batches, want 1", len(batches))
	}
	b := batches[0]
	const chat = "19:2da4c29f6d7041eca70b638b43d45437@thread.v2"
	if b.Conversation != "chats/"+chat || b.ChatID != chat || b.TeamID != "" {
		t.Fatalf("conversation %q chat %q team %q", b.Conversation, b.ChatID, b.TeamID)
	}
	checkLines(t, b.Events, []string{
		"2021-03-28T03:50:10.266 invited 8ea0e38b-efb3-4757-924a-5f94061cf8c2 affected=c27c1b19-3904-4822-9813-4f6bdaab2eae,5f4e7e6b-1f1a-4c0f-9b3b-1d2f1e2c3b4a sys=Robin Kline added Alex Wilber and Megan Bowen.",
		"2021-03-28T03:51:40.000 notice 8ea0e38b-efb3-4757-924a-5f94061cf8c2 sys=Robin Kline renamed the chat to \"Q3 close\".",
		"2021-03-28T20:48:29.832 message 8ea0e38b-efb3-4757-924a-5f94061cf8c2 text=Hello world & welcome sys=Reactions: 👍 like by c27c1b19-3904-4822-9813-4f6bdaab2eae at 2021-03-28 20:50:02 UTC.",
		"2021-03-28T20:50:00.000 file c27c1b19-3904-4822-9813-4f6bdaab2eae text=Ah, @Megan Bowen, the Q3 deck is here: [file: Q3 deck.pptx] 🙂\nAsk @Power Automate for the numbers. sys=Mentioned: Megan Bowen, Power Automate (bot).\nEdited 2021-03-28 20:51:40 UTC; this is the final text.\nImportance: high. file=Q3 deck.pptx[https://contoso.sharepoint.com/sites/Finance/Shared%20Documents/General/Q3%20deck.pptx]",
		"2021-03-28T20:51:40.000 notice 8ea0e38b-efb3-4757-924a-5f94061cf8c2 sys=A message by Robin Kline was deleted 2021-03-28 20:55:00 UTC. Its content is gone.",
		"2021-05-03T13:55:40.712 joined 2c3f5f34-ac9f-42e7-8b35-442ccac166cb sys=Alex (Guest) joined.",
		"2021-05-03T13:56:40.000 notice 8ea0e38b-efb3-4757-924a-5f94061cf8c2 sys=A meeting ended after 40m19.26s; participants: Robin Kline, Alex Wilber.",
		"2021-06-05T00:33:20.000 message 8ea0e38b-efb3-4757-924a-5f94061cf8c2 text=Yes, read it. sys=Reply to message 1622853091207 by Alex Wilber: \"Testing unread read status\".",
		"2021-06-05T00:35:00.000 message 358f0194-6b0e-4dd3-af35-c24fe8a9ec87 text=Q3 revenue\nRegion: EMEA\nTotal: 4.2m\nOpen report",
	})
	for _, e := range b.Events {
		if e.Key != "teams/chats/"+chat+"/messages/"+e.ID {
			t.Errorf("key %q for message %s", e.Key, e.ID)
		}
	}
	if f := b.Events[3].Files[0]; f.Size != -1 || f.JSONPath != "$.value[1].attachments[0]" || f.Path != "" || f.Entry != "" {
		t.Errorf("file ref %+v", f)
	}
	want := []transcript.Participant{
		{ID: "8ea0e38b-efb3-4757-924a-5f94061cf8c2", DisplayName: "Robin Kline"},
		{ID: "c27c1b19-3904-4822-9813-4f6bdaab2eae", DisplayName: "Alex Wilber"},
		{ID: "358f0194-6b0e-4dd3-af35-c24fe8a9ec87", DisplayName: "Power Automate", Role: "bot"},
		{ID: "5f4e7e6b-1f1a-4c0f-9b3b-1d2f1e2c3b4a", DisplayName: "Megan Bowen"},
		{ID: "2c3f5f34-ac9f-42e7-8b35-442ccac166cb", DisplayName: "Alex (Guest)"},
	}
	if !slices.Equal(b.Participants, want) {
		t.Errorf("participants\n%+v\nwant\n%+v", b.Participants, want)
	}
	tc := b.Transcript()
	if tc.Format != FormatTeams || tc.ID != b.Conversation || tc.ChatID != chat || len(tc.Events) != len(b.Events) {
		t.Errorf("transcript %+v", tc)
	}
}

// TestChannelFixture: a channel dump as a plain JSON array: subject, replies, a bot on behalf
// of a user, an email sender, a DLP block, team events and an unknown event type.
func TestChannelFixture(t *testing.T) {
	batches, err := readAll(t, readFixture(t, "channel.teams.json"), Options{Directory: fixtureDirectory(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 {
		t.Fatalf("%d batches, want 1", len(batches))
	}
	b := batches[0]
	if b.Conversation != "teams/fbe2bf47-16c8-47cf-b4a5-4b9b187c508b/channels/19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2" ||
		b.TeamID != "fbe2bf47-16c8-47cf-b4a5-4b9b187c508b" || b.ChatID != "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2" {
		t.Fatalf("conversation %q chat %q team %q", b.Conversation, b.ChatID, b.TeamID)
	}
	checkLines(t, b.Events, []string{
		"2021-02-05T07:10:44.972 message 8ea0e38b-efb3-4757-924a-5f94061cf8c2 text=Q3 close\nNumbers are in.\n- EMEA: up 4%\n- APAC: flat\nSee the Q3 site (https://contoso.sharepoint.com/sites/Finance/q3) and https://contoso.example/x\n[image] sys=Importance: urgent.\nReactions: ❤️ heart by Alex Wilber at 2021-02-05 07:12:00 UTC; 💯 Hundred points by 5f4e7e6b-1f1a-4c0f-9b3b-1d2f1e2c3b4a at 2021-02-05 07:13:00 UTC.",
		"2021-02-18T18:02:28.387 message testemailuser@outlook.com text=Thanks <all> 🎉 sys=Reply to message 1612509044972.",
		"2021-02-18T18:03:20.000 message 8a34cb8d-65dc-44e2-8375-a2261d1f2a4b text=Expense policy\nUpdated for Q3\nClaims over 500 need approval.\nRead it: https://contoso.example/policy sys=Reply to message 1612509044972.\nSent on behalf of Robin Kline.",
		"2021-02-18T18:05:00.000 message 8578568e393e4ffe8763e0b7c3da01fe sys=Hidden by a data loss prevention policy (blockAccess).",
		"2021-04-19T08:39:08.765 notice 9ee3dc1b-6a70-4582-8bc5-5dd35336b6c3 sys=Lee Gu renamed the team to \"Finance\".",
		"2021-04-19T08:40:00.000 notice 9ee3dc1b-6a70-4582-8bc5-5dd35336b6c3 affected=1fb8890f-423e-4154-8fbf-db6809bc8756 sys=Lee Gu removed 1fb8890f-423e-4154-8fbf-db6809bc8756.",
		"2021-04-19T08:41:40.000 notice 9ee3dc1b-6a70-4582-8bc5-5dd35336b6c3 sys=Lee Gu added the channel \"Audit\".",
		"2021-04-19T08:43:20.000 notice 9ee3dc1b-6a70-4582-8bc5-5dd35336b6c3 sys=Teams system event \"microsoft.graph.someFutureEventMessageDetail\" from Lee Gu.",
	})
	var email transcript.Participant
	for _, p := range b.Participants {
		if p.ID == "testemailuser@outlook.com" {
			email = p
		}
	}
	if email.Email != "testemailuser@outlook.com" || email.Role != "emailUser" {
		t.Errorf("an emailUser's address is the export's: %+v", email)
	}
}
