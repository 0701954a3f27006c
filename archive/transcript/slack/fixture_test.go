package slack

import "testing"

// The fixture export is written from Slack's help article "How to read Slack data exports"
// and what importers (mattermost mmetl, slackdump) handle; no real workspace data.

const (
	token   = "xoxe-1-My0xLTEyMzQ1Njc4OTAxMi1zZWNyZXQ" // a made-up export token
	pdf     = "%PDF-1.4 Q3 report\n"
	team    = "T0GREEN"
	generic = "https://greenvault.slack.com"
)

type obj = map[string]any
type arr = []any

func fixtureUsers() arr {
	return arr{
		obj{"id": "U01LISA", "team_id": team, "name": "lisa", "real_name": "Lisa Holmes", "deleted": false,
			"profile": obj{"real_name": "Lisa Holmes", "display_name": "lisa", "email": "lisa.holmes@greenvaultcapital.com"}},
		// no email in the export: only the identity directory knows it
		obj{"id": "U02JORDAN", "team_id": team, "name": "jordan", "profile": obj{"real_name": "Jordan Davies", "display_name": "JD"}},
		// a deleted user, no email anywhere
		obj{"id": "U03GHOST", "team_id": team, "name": "ghost", "deleted": true, "profile": obj{"real_name": "Former Employee"}},
		// a bot user
		obj{"id": "U04BOT", "team_id": team, "name": "deploybot", "is_bot": true,
			"profile": obj{"real_name": "Deploy Bot", "bot_id": "B04BOT"}},
		// a user of another workspace (a shared channel): does not change the workspace
		obj{"id": "W05EXT", "team_id": "T9OTHER", "name": "ext", "profile": obj{"real_name": "Ext Partner"}},
	}
}

func ts2(sec string) string { return sec + ".000200" }

// fixtureExport is a full export: public and private channels, a DM, a group DM, threads, an
// edit, a join, a bot, mentions and links, files inside and outside the ZIP.
func fixtureExport(t testing.TB, prefix string) []zent {
	fileURL := "https://files.slack.com/files-pri/T0GREEN-F01REPORT/q3_report.pdf?t=" + token
	general24 := arr{
		// deliberately out of ts order
		obj{"type": "message", "user": "U02JORDAN", "ts": "1684922760.000300", "text": "Agreed &amp; signed &lt;3",
			"edited":    obj{"user": "U02JORDAN", "ts": "1684922790.000000"},
			"reactions": arr{obj{"name": "+1", "users": arr{"U01LISA", "U03GHOST"}, "count": 2}}},
		obj{"type": "message", "subtype": "channel_join", "user": "U02JORDAN", "ts": "1684922400.000100",
			"text": "<@U02JORDAN> has joined the channel"},
		obj{"type": "message", "user": "U01LISA", "ts": "1684922718.000100", "thread_ts": "1684922718.000100", "reply_count": 2,
			"text":         "Hi <@U02JORDAN|jordan>, see <#C02DEALS|deals> and <https://example.com/q3?a=1&amp;b=2|the Q3 page>. <!here> <!subteam^S01|@risk> <mailto:x@example.com|x@example.com>",
			"user_profile": obj{"real_name": "Lisa Holmes"}},
		obj{"type": "message", "user": "U02JORDAN", "ts": "1684922730.000000", "thread_ts": "1684922718.000100",
			"parent_user_id": "U01LISA", "text": "Reading it now"},
		obj{"type": "message", "subtype": "thread_broadcast", "user": "U01LISA", "ts": "1684922740.000000",
			"thread_ts": "1684922718.000100", "parent_user_id": "U01LISA", "text": "Summary for <!channel>"},
		// a bot without user: bot_id and username only
		obj{"type": "message", "subtype": "bot_message", "bot_id": "B99HOOK", "username": "Jira", "ts": "1684922800.000000",
			"text": "", "attachments": arr{obj{"fallback": "FIN-12 moved to Done"}}},
		// a bot with its own user
		obj{"type": "message", "subtype": "bot_message", "bot_id": "B04BOT", "ts": "1684922810.000000", "text": "deploy ok"},
		// a file the exporter fetched, and one it did not
		obj{"type": "message", "subtype": "file_share", "user": "U01LISA", "ts": "1684922900.000000", "text": "Q3 report",
			"files": arr{obj{"id": "F01REPORT", "name": "Q3 report.pdf", "title": "Q3 report", "mimetype": "application/pdf",
				"size": len(pdf), "url_private": fileURL, "url_private_download": fileURL + "&dl=1",
				"permalink": generic + "/files/U01LISA/F01REPORT/q3_report.pdf"}}},
		obj{"type": "message", "user": "U02JORDAN", "ts": "1684922910.000000", "text": "",
			"files": arr{obj{"id": "F02HIDDEN", "name": "", "mode": "hidden_by_limit",
				"url_private": fileURL, "permalink": generic + "/files/U02JORDAN/F02HIDDEN/x?t=" + token}}},
		obj{"type": "message", "subtype": "tombstone", "user": "USLACKBOT", "ts": "1684922920.000000",
			"thread_ts": "1684922920.000000", "text": "This message was deleted."},
		obj{"type": "message", "subtype": "huddle_thread", "user": "U01LISA", "ts": "1684923000.000000", "text": "",
			"room": obj{"id": "R01", "created_by": "U01LISA", "date_start": 1684923000, "date_end": 1684923600,
				"participant_history": arr{"U01LISA", "U02JORDAN"}}},
		obj{"type": "message", "subtype": "channel_topic", "user": "U01LISA", "ts": "1684923100.000000",
			"text": "set the channel topic: Q3 &amp; Q4", "topic": "Q3 & Q4"},
		obj{"type": "message", "subtype": "reminder_add", "user": "U02JORDAN", "ts": "1684923200.000000",
			"text": "set up a reminder"},
		obj{"type": "message", "user": "U03GHOST", "ts": "1684923300.000000", "text": "my token is " + token},
		obj{"type": "message", "user": "U77GONE", "ts": "1684923400.000000", "text": "I am not in users.json",
			"user_profile": obj{"real_name": "Gone User"}},
	}
	general25 := arr{
		// a reply to the thread of the 24th, without parent_user_id
		obj{"type": "message", "user": "W05EXT", "ts": "1685000000.000001", "thread_ts": "1684922718.000100", "text": "late reply"},
	}
	return []zent{
		jsonEnt(t, prefix+"users.json", fixtureUsers()),
		jsonEnt(t, prefix+"channels.json", arr{
			obj{"id": "C01GENERAL", "name": "general", "members": arr{"U01LISA", "U02JORDAN"}},
			obj{"id": "C03EMPTY", "name": "empty"},
		}),
		jsonEnt(t, prefix+"groups.json", arr{obj{"id": "C02DEALS", "name": "deals", "members": arr{"U01LISA"}}}),
		jsonEnt(t, prefix+"dms.json", arr{obj{"id": "D01DM", "members": arr{"U01LISA", "U02JORDAN"}}}),
		jsonEnt(t, prefix+"mpims.json", arr{obj{"id": "G01MPIM", "name": "mpdm-lisa--jordan--ghost-1",
			"members": arr{"U01LISA", "U02JORDAN", "U03GHOST"}}}),
		jsonEnt(t, prefix+"integration_logs.json", arr{}),
		jsonEnt(t, prefix+"general/2023-05-25.json", general25), // zip order is not date order
		jsonEnt(t, prefix+"general/2023-05-24.json", general24),
		jsonEnt(t, prefix+"deals/2023-05-24.json", arr{obj{"type": "message", "user": "U01LISA", "ts": "1684922000.000000", "text": "private"}}),
		jsonEnt(t, prefix+"D01DM/2023-05-24.json", arr{obj{"type": "message", "user": "U02JORDAN", "ts": "1684922001.000000", "text": "just us"}}),
		jsonEnt(t, prefix+"mpdm-lisa--jordan--ghost-1/2023-05-24.json", arr{obj{"type": "message", "user": "U01LISA", "ts": "1684922002.000000", "text": "three of us"}}),
		jsonEnt(t, prefix+"general/canvas_in_the_conversation.json", obj{"ignored": true}),
		{name: prefix + "__uploads/F01REPORT/Q3 report.pdf", data: []byte(pdf)},
	}
}
