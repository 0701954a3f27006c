package slack

import (
	"slices"
	"strings"
	"testing"
)

// TestUglyMessages: shapes old exports and importers (mmetl, slackdump) have to handle.
func TestUglyMessages(t *testing.T) {
	day := arr{
		// legacy file_share with a singular file, and a legacy file comment
		obj{"type": "message", "subtype": "file_share", "user": "U01LISA", "ts": "1684922001.000000", "upload": true,
			"text": "<@U01LISA|lisa> uploaded a file: <https://greenvault.slack.com/files/x|deck>",
			"file": obj{"id": "F77OLD", "name": "deck.key", "permalink": "https://greenvault.slack.com/files/U01LISA/F77OLD/deck.key"}},
		obj{"type": "message", "subtype": "file_comment", "ts": "1684922002.000000", "text": "",
			"comment": obj{"user": "U02JORDAN", "comment": "nice &amp; short"}},
		// a bot named only by its profile
		obj{"type": "message", "subtype": "bot_message", "bot_id": "B55", "bot_profile": obj{"name": "Standup"}, "ts": "1684922003.000000", "text": "daily"},
		// a rename without text, the same ts twice, a deleted file, an unknown reactor
		obj{"type": "message", "subtype": "channel_name", "user": "U01LISA", "ts": "1684922004.000000", "old_name": "gen", "name": "general"},
		obj{"type": "message", "user": "U01LISA", "ts": "1684922005.000000", "text": "once",
			"reactions": arr{obj{"name": "tada", "users": arr{"U404"}, "count": 3}, obj{"name": "eyes", "count": 2}}},
		obj{"type": "message", "user": "U01LISA", "ts": "1684922005.000000", "text": "once"},
		obj{"type": "message", "user": "U01LISA", "ts": "1684922006.000000", "text": "",
			"files": arr{obj{"id": "F88DEL", "mode": "tombstone", "name": "gone.pdf"}}},
		// nothing at all but a ts, and an old call
		obj{"ts": "1684922007.000000"},
		obj{"type": "message", "subtype": "sh_room_created", "user": "U02JORDAN", "ts": "1684922008.000000",
			"room": obj{"name": "sync", "created_by": "U02JORDAN", "date_start": 1684922008, "participants": arr{"U02JORDAN"}}},
		// a /me message and a message edited by someone else
		obj{"type": "message", "subtype": "me_message", "user": "U02JORDAN", "ts": "1684922009.000000", "text": "waves"},
		obj{"type": "message", "user": "U02JORDAN", "ts": "1684922010.000000", "text": "fixed",
			"edited": obj{"user": "U01LISA", "ts": "1684922011.000000"}},
		// a channel left, with Slack's own text
		obj{"type": "message", "subtype": "channel_leave", "user": "U02JORDAN", "ts": "1684922012.000000", "text": "<@U02JORDAN> has left the channel"},
	}
	ents := []zent{
		jsonEnt(t, "users.json", fixtureUsers()),
		jsonEnt(t, "channels.json", arr{obj{"id": "C01GENERAL", "name": "general"}}),
		jsonEnt(t, "general/2023-05-24.json", day),
	}
	x, err := openBytes(t, "x.zip", buildZip(t, ents...))
	if err != nil {
		t.Fatal(err)
	}
	days, err := walkAll(t, x)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range days["general"][0].Events {
		got = append(got, line(e))
	}
	want := []string{
		"09:53:21.000000 file U01LISA text=@Lisa Holmes uploaded a file: deck (https://greenvault.slack.com/files/x) sys=File deck.key: the export did not contain it; linked to its Slack permalink. file=deck.key[https://greenvault.slack.com/files/U01LISA/F77OLD/deck.key -1]",
		"09:53:22.000000 message U02JORDAN text=nice & short",
		"09:53:23.000000 message B55 text=daily",
		`09:53:24.000000 notice U01LISA sys=Lisa Holmes renamed the channel from "gen" to "general".`,
		"09:53:25.000000 message U01LISA text=once sys=Reactions: :tada: U404 and 2 more; :eyes: ×2.",
		"09:53:26.000000 message U01LISA sys=File gone.pdf was deleted.",
		"09:53:27.000000 message unknown sys=The message has no text.",
		`09:53:28.000000 notice U02JORDAN sys=Huddle "sync" started by Jordan Davies at 2023-05-24 09:53:28 UTC; participants: Jordan Davies.`,
		"09:53:29.000000 message U02JORDAN text=waves sys=A /me message.",
		"09:53:30.000000 message U02JORDAN text=fixed sys=Edited 2023-05-24 09:53:31 UTC by Lisa Holmes; this is the final text.",
		"09:53:32.000000 notice U02JORDAN sys=@Jordan Davies has left the channel",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
