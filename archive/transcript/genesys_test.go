package transcript

import (
	"reflect"
	"testing"
	"time"
)

// The notification of the Genesys UploadFile documentation, verbatim.
func TestGenesysSeed(t *testing.T) {
	got, err := Genesys{}.Parse("chats/seed.genesys.json", readTestdata(t, "genesys/valid/seed.genesys.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Conversation{
		Format:       "genesys",
		Version:      1,
		ID:           "0001PaBMYY3600R8",
		ChatID:       "0001PaBMYY3600R8",
		Participants: []Participant{{ID: "009F5790DA8D0066", DisplayName: "TestName", Role: "Agent"}},
		Events: []Event{{
			ID:         "7",
			Time:       mustTime(t, "2016-07-21T14:23:20Z"),
			Type:       "file",
			From:       "009F5790DA8D0066",
			SystemText: "file-uploaded",
			Files: []FileRef{{
				Path:     "chats/attachments/0001PaBMYY3600RC/testfileUploadAgent.txt",
				Name:     "testfileUploadAgent.txt",
				Size:     46,
				JSONPath: "$.messages[0].attachment",
			}},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse:\n got %+v\nwant %+v", got, want)
	}
}

func TestGenesysChatLog(t *testing.T) {
	got, err := Genesys{}.Parse("genesys/log.genesys.json", readTestdata(t, "genesys/valid/chat-log.genesys.json"))
	if err != nil {
		t.Fatal(err)
	}
	ms := func(n int64) time.Time { return time.UnixMilli(n).UTC() }
	want := &Conversation{
		Format:  "genesys",
		Version: 1,
		ID:      "0001PaBMYY3600R9",
		ChatID:  "0001PaBMYY3600R9",
		Participants: []Participant{
			{ID: "00C1", DisplayName: "Kim", Role: "Client"},
			{ID: "00A1", DisplayName: "Agent Smith", Role: "Agent"},
		},
		Events: []Event{
			{ID: "1", Time: ms(1469110900000), Type: "message", From: "00C1", SystemText: "Kim joined the chat"},
			{ID: "2", Time: mustTime(t, "2016-07-21T14:21:41Z"), Type: "message", From: "00C1", Text: "Hello, I need help with my account"},
			// 3: TypingStarted, not archived.
			{ID: "4", Time: mustTime(t, "2016-07-21T14:22:00Z"), Type: "message", From: "00A1", Text: "Sure, one moment"},
			{ID: "5", Time: ms(1469110930000), Type: "message", From: "00A1", SystemText: "Chat transferred"}, // timestampSeconds in seconds
			{ID: "6", Time: ms(1469110950500), Type: "file", From: "00A1", Text: "here is the form", Files: []FileRef{{
				Path: "genesys/attachments/DOC-1/form.pdf", Name: "form.pdf", Size: 2048, JSONPath: "$.messages[5].attachment",
			}}},
			{ID: "8", Time: ms(1469111100000), Type: "message", From: "00C1", SystemText: "Kim left the chat"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse:\n got %+v\nwant %+v", got, want)
	}
}

func TestGenesysWithoutChatIDUsesThePath(t *testing.T) {
	got, err := Genesys{}.Parse("a/./b.genesys.json", []byte(`{"messages":[{"from":{"nickname":"Kim"},"timestamp":"2016-07-21T14:21:41Z","text":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "a/b.genesys.json" || got.ChatID != "" {
		t.Errorf("ID, ChatID = %q, %q; want the cleaned path and \"\"", got.ID, got.ChatID)
	}
	if got.Events[0].ID != "0" || !got.Events[0].Positional || got.Participants[0] != (Participant{ID: "Kim", DisplayName: "Kim"}) {
		t.Errorf("got %+v; want event id 0 marked positional", got)
	}
}

func TestGenesysChatIDFromURI(t *testing.T) {
	got, err := Genesys{}.Parse("g.genesys.json", []byte(`{"chatUri":"https://gws.example.com/api/v2/chats/00AB/","messages":[{"from":{"nickname":"Kim"},"timestamp":"2016-07-21T14:21:41Z","text":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.ChatID != "00AB" {
		t.Errorf("ChatID = %q, want 00AB", got.ChatID)
	}
}

// gmsg builds a notification with one message from an agent at a valid time plus extra members.
func gmsg(extra string) string {
	return `{"messages":[{"from":{"id":"a1","nickname":"Ann","type":"Agent"},"index":1,"timestampSeconds":1469111000000,` + extra + `}]}`
}

func TestGenesysRules(t *testing.T) {
	const file = "chats/c.genesys.json"
	tests := []struct {
		name     string
		json     string
		jsonPath string
		reason   string
		is       error
	}{
		{"not JSON", "chatPath=/chats/1", "$", "invalid JSON at line 1, column 1: invalid character 'c' looking for beginning of value", nil},
		{"not an object", `[]`, "$", "want an object, got array", nil},
		{"messages missing", `{"chatPath":"/chats/1"}`, "$.messages", "is required", nil},
		{"messages not an array", `{"messages":{}}`, "$.messages", "want an array, got object", nil},
		{"messages empty", `{"messages":[]}`, "$.messages", "is empty; there is nothing to archive", nil},
		{"only typing", `{"messages":[{"from":{"id":"a"},"type":"TypingStarted","timestampSeconds":1469111000000}]}`, "$.messages",
			"holds only typing notifications and empty messages; there is nothing to archive", nil},
		{"message not an object", `{"messages":[1]}`, "$.messages[0]", "want an object, got number", nil},

		{"chatPath not /chats/", `{"chatPath":"/users/1","messages":[]}`, "$.chatPath", `"/users/1" is not /chats/{id}`, nil},
		{"chatPath climbing", `{"chatPath":"/chats/../admin","messages":[]}`, "$.chatPath", `"/chats/../admin" is not /chats/{id}`, nil},
		{"chatPath not a string", `{"chatPath":1,"messages":[]}`, "$.chatPath", "want a string, got number", nil},
		{"chatUri without chat", `{"chatUri":"http://x/api/v2/users/1","messages":[]}`, "$.chatUri", `"http://x/api/v2/users/1" does not end in /chats/{id}`, nil},
		{"chatUri disagrees", `{"chatPath":"/chats/A","chatUri":"http://x/api/v2/chats/B","messages":[]}`, "$.chatUri", `names chat "B" but $.chatPath names "A"`, nil},

		{"from missing", `{"messages":[{"timestampSeconds":1469111000000,"text":"x"}]}`, "$.messages[0].from", "is required", nil},
		{"from not an object", `{"messages":[{"from":"Ann","timestampSeconds":1469111000000,"text":"x"}]}`, "$.messages[0].from", "want an object, got string", nil},
		{"from without identity", `{"messages":[{"from":{"type":"Agent"},"timestampSeconds":1469111000000,"text":"x"}]}`, "$.messages[0].from",
			"needs an id, participantId or nickname", nil},
		{"from nickname not a string", `{"messages":[{"from":{"nickname":7},"timestampSeconds":1469111000000,"text":"x"}]}`, "$.messages[0].from.nickname",
			"want a string, got number", nil},
		{"from id control character", `{"messages":[{"from":{"id":"a\u0007"},"timestampSeconds":1469111000000,"text":"x"}]}`, "$.messages[0].from.id",
			`"a\a" contains a control character`, nil},

		{"no time", `{"messages":[{"from":{"id":"a"},"text":"x"}]}`, "$.messages[0].timestamp", "is required (or timestampSeconds)", nil},
		{"timestamp unparseable", `{"messages":[{"from":{"id":"a"},"text":"x","timestamp":"21/07/2016 17:23"}]}`, "$.messages[0].timestamp",
			`"21/07/2016 17:23" is not a time like "2016-07-21 17:23:20.000+0300" or RFC 3339`, nil},
		{"timestamp without zone", `{"messages":[{"from":{"id":"a"},"text":"x","timestamp":"2016-07-21 17:23:20.000"}]}`, "$.messages[0].timestamp",
			`"2016-07-21 17:23:20.000" is not a time like "2016-07-21 17:23:20.000+0300" or RFC 3339`, nil},
		{"timestamp a number", `{"messages":[{"from":{"id":"a"},"text":"x","timestamp":1469111000000}]}`, "$.messages[0].timestamp", "want a string, got number", nil},
		{"timestampSeconds a string", `{"messages":[{"from":{"id":"a"},"text":"x","timestampSeconds":"1469111000000"}]}`, "$.messages[0].timestampSeconds",
			`want epoch milliseconds (a positive whole number), got the string "1469111000000"`, nil},
		{"timestampSeconds zero", `{"messages":[{"from":{"id":"a"},"text":"x","timestampSeconds":0}]}`, "$.messages[0].timestampSeconds",
			"want epoch milliseconds (a positive whole number), got 0", nil},
		{"timestampSeconds too late", `{"messages":[{"from":{"id":"a"},"text":"x","timestampSeconds":253402300800000}]}`, "$.messages[0].timestampSeconds",
			"253402300800000 is after year 9999 in epoch milliseconds", nil},
		{"times disagree", `{"messages":[{"from":{"id":"a"},"text":"x","timestamp":"2016-07-21 17:23:20.000+0000","timestampSeconds":1469111000000}]}`,
			"$.messages[0].timestampSeconds", `1469111000000 (2016-07-21T14:23:20Z) disagrees with timestamp "2016-07-21 17:23:20.000+0000"`, nil},

		{"index negative", gmsg(`"text":"x","index":-1`)[0:0] + `{"messages":[{"from":{"id":"a"},"index":-1,"timestampSeconds":1469111000000,"text":"x"}]}`,
			"$.messages[0].index", "want a whole number, 0 or more, got -1", nil},
		{"index duplicate", `{"messages":[{"from":{"id":"a"},"index":1,"timestampSeconds":1469111000000,"text":"x"},{"from":{"id":"a"},"index":1,"timestampSeconds":1469111000000,"text":"y"}]}`,
			"$.messages[1].index", `"1" is also $.messages[0].index`, nil},
		{"position collides with an index", `{"messages":[{"from":{"id":"a"},"index":1,"timestampSeconds":1469111000000,"text":"x"},{"from":{"id":"a"},"timestampSeconds":1469111000000,"text":"y"}]}`,
			"$.messages[1]", `"1" is also $.messages[0].index`, nil},
		{"text not a string", gmsg(`"text":["x"]`), "$.messages[0].text", "want a string, got array", nil},

		{"attachment not an object", gmsg(`"attachment":"a.pdf"`), "$.messages[0].attachment", "want an object, got string", nil},
		{"attachment id missing", gmsg(`"attachment":{"name":"a.pdf"}`), "$.messages[0].attachment.id", "is required", nil},
		{"attachment name missing", gmsg(`"attachment":{"id":"D1"}`), "$.messages[0].attachment.name", "is required", nil},
		{"attachment id climbs", gmsg(`"attachment":{"id":"..","name":"a.pdf"}`), "$.messages[0].attachment.id", `".." is not a file name`, nil},
		{"attachment id with slash", gmsg(`"attachment":{"id":"../../x","name":"a.pdf"}`), "$.messages[0].attachment.id",
			`"../../x" must be a file name without "/", "\" or NUL`, nil},
		{"attachment name with slash", gmsg(`"attachment":{"id":"D1","name":"../../../etc/passwd"}`), "$.messages[0].attachment.name",
			`"../../../etc/passwd" must be a file name without "/", "\" or NUL`, nil},
		{"attachment over 1.0 GB", gmsg(`"attachment":{"id":"D1","name":"a.iso","size":5000000000}`), "$.messages[0].attachment.size",
			"5000000000 bytes is over the 1.0 GB attachment limit (1073741824 bytes)", ErrTooLarge},
		{"attachment size fractional", gmsg(`"attachment":{"id":"D1","name":"a.iso","size":1.5}`), "$.messages[0].attachment.size",
			"1.5 is not a size in bytes (a whole number, 0 or more)", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Genesys{}.Parse(file, []byte(tt.json))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", c)
			}
			is := tt.is
			if is == nil {
				is = ErrInvalid
			}
			assertError(t, err, file, tt.jsonPath, tt.reason, is)
		})
	}
}
