package teams

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/archivist-project/archivist/archive/transcript"
)

// findProblem asserts one problem with the JSON path, a reason containing reason, and target.
func findProblem(t *testing.T, err error, jsonPath, reason string, target error) {
	t.Helper()
	for _, p := range problems(t, err) {
		if p.JSONPath == jsonPath && strings.Contains(p.Reason, reason) && errors.Is(p, target) && p.File == "dumps/x.teams.json" {
			return
		}
	}
	t.Fatalf("no problem at %q with %q (%v) in:\n%v", jsonPath, reason, target, err)
}

func TestBadFiles(t *testing.T) {
	for _, c := range []struct {
		name, data, path, reason string
		target                   error
	}{
		{"empty", "", "", "empty file", ErrNotChatMessages},
		{"not JSON", "Date,From,Message\n2024-01-01,a,b\n", "", "not JSON", ErrNotChatMessages},
		{"a JSON string", `"hello"`, "$", "a JSON string, not a Graph list response", ErrNotChatMessages},
		{"an object without value", `{"users": []}`, "$", `without a "value" array`, ErrNotChatMessages},
		{"value not an array", `{"value": {"id": "1"}}`, "$.value", `"value" is a JSON {`, ErrNotChatMessages},
		{"elements not objects", `[1, "x", null]`, "$[1]", "a JSON string, not a chatMessage object", ErrNotChatMessages},
		{"Slack messages", `[{"type":"message","user":"U1","ts":"1.0","text":"hi"}]`, "$[0]", "not a chatMessage", ErrNotChatMessages},
		{"a member of the wrong type", `[{"id":"1","createdDateTime":"2024-01-01T00:00:00Z","chatId":"c","body":"hi"}]`, "$[0]", "body is a JSON string", ErrNotChatMessages},
		{"no id", `[{"createdDateTime":"2024-01-01T00:00:00Z","chatId":"c","body":{"content":"x"}}]`, "$[0]", "without id", transcript.ErrInvalid},
		{"no createdDateTime", `[{"id":"1","chatId":"c","body":{"content":"x"}}]`, "$[0].createdDateTime", "message 1: missing", transcript.ErrInvalid},
		{"a createdDateTime Graph's docs misprint", `[{"id":"1","chatId":"c","createdDateTime":"2021-03-1706:47:05.123Z"}]`, "$[0].createdDateTime", `"2021-03-1706:47:05.123Z" is not a date`, transcript.ErrInvalid},
		{"no conversation", `[{"id":"1","createdDateTime":"2024-01-01T00:00:00Z","body":{"content":"x"}}]`, "$[0]", "neither chatId nor channelIdentity", ErrNoConversation},
		{"broken off", `{"value":[{"id":"1","chatId":"c","createdDateTime":"2024-01-01T00:00:00Z"},{"id":"2","ch`, "$.value[1]", "invalid JSON: unexpected EOF; reading stopped here", transcript.ErrInvalid},
		{"garbage after a value", `[] x`, "$(value 2)", "invalid character 'x'", transcript.ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := readAll(t, []byte(c.data), Options{})
			findProblem(t, err, c.path, c.reason, c.target)
		})
	}
}

// What can be archived is: the messages before a break are read, and a bad message does not
// hide the good ones around it.
func TestGoodMessagesAroundBadOnes(t *testing.T) {
	data := `{"value":[` +
		`{"id":"1","chatId":"c","createdDateTime":"2024-01-01T00:00:01Z","body":{"content":"one"}},` +
		`{"id":"2","chatId":"c","createdDateTime":"never"},` +
		`{"id":"3","chatId":"c","createdDateTime":"2024-01-01T00:00:03Z","body":{"content":"three"}},` +
		`{"id":"4","chatId":"c","createdDateTime":"2024-01-01T00:00:04Z","body":{"content":"fo`
	batches, err := readAll(t, []byte(data), Options{})
	findProblem(t, err, "$.value[1].createdDateTime", "is not a date", transcript.ErrInvalid)
	findProblem(t, err, "$.value[3]", "reading stopped here", transcript.ErrInvalid)
	if len(batches) != 1 || len(batches[0].Events) != 2 || batches[0].Events[1].Text != "three" {
		t.Fatalf("batches %+v", batches)
	}
}

func TestMessageTooLarge(t *testing.T) {
	big := strings.Repeat("x", 64<<10)
	data := `[{"id":"1","chatId":"c","createdDateTime":"2024-01-01T00:00:01Z","body":{"content":"small"}},` +
		`{"id":"2","chatId":"c","createdDateTime":"2024-01-01T00:00:02Z","body":{"content":"` + big + `"}},` +
		`{"id":"3","chatId":"c","createdDateTime":"2024-01-01T00:00:03Z","body":{"content":"after"}}]`
	batches, err := readAll(t, []byte(data), Options{MaxMessage: 16 << 10})
	findProblem(t, err, "$[1]", "larger than 16384 bytes: reading stopped here", ErrMessageTooLarge)
	if !errors.Is(err, transcript.ErrTooLarge) {
		t.Errorf("%v is not ErrTooLarge", err)
	}
	if len(batches) != 1 || len(batches[0].Events) != 1 || batches[0].Events[0].Text != "small" {
		t.Fatalf("batches %+v", batches)
	}
	// a huge member beside "value" is bounded too
	_, err = readAll(t, []byte(`{"@odata.context":"`+big+`","value":[]}`), Options{MaxMessage: 16 << 10})
	findProblem(t, err, "$.@odata.context", "larger than", ErrMessageTooLarge)
}

func TestShapesOfDumps(t *testing.T) {
	m := `{"id":"%s","createdDateTime":"2024-01-01T00:00:0%[1]sZ","body":{"content":"m%[1]s"}}`
	one := strings.ReplaceAll(m, "%[1]s", "1")
	one = strings.Replace(one, "%s", "1", 1)
	two := strings.Replace(strings.ReplaceAll(m, "%[1]s", "2"), "%s", "2", 1)
	ctx := `"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#chats('19%3Aabc%40thread.v2')/messages"`
	chanCtx := `"@odata.context":"https://graph.microsoft.com/beta/$metadata#teams('t1')/channels('19%3Ach%40thread.tacv2')/messages"`
	for _, c := range []struct {
		name, data, conv string
		n                int
	}{
		{"list response, context names the chat", "\uFEFF{" + ctx + `,"value":[` + one + "," + two + `]}`, "chats/19:abc@thread.v2", 2},
		{"pages one after the other", "{" + ctx + `,"value":[` + one + "]}\n{" + ctx + `,"value":[` + two + `],"@odata.nextLink":"x"}`, "chats/19:abc@thread.v2", 2},
		{"a channel's context", "{" + chanCtx + `,"value":[` + one + `]}`, "teams/t1/channels/19:ch@thread.tacv2", 1},
		{"one message, as GET returns it", "{" + ctx + "," + strings.TrimPrefix(one, "{") + "\n", "chats/19:abc@thread.v2", 1},
		{"a plain array, the caller's conversation", "[" + one + "," + two + "]", "from-the-file-name", 2},
		{"value null", `{"value":null}`, "", 0},
		{"pages kept in an array", "[{" + ctx + `,"value":[` + one + `]},{"value":[` + two + `]}]`, "chats/19:abc@thread.v2", 2},
		{"JSON lines of messages", strings.Replace(one, "{", `{"chatId":"19:abc@thread.v2",`, 1) + "\n" + strings.Replace(two, "{", `{"chatId":"19:abc@thread.v2",`, 1) + "\n", "chats/19:abc@thread.v2", 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			batches, err := readAll(t, []byte(c.data), Options{Conversation: "from-the-file-name"})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, b := range batches {
				n += len(b.Events)
				if b.Conversation != c.conv {
					t.Errorf("conversation %q, want %q", b.Conversation, c.conv)
				}
			}
			if n != c.n {
				t.Fatalf("%d events, want %d", n, c.n)
			}
		})
	}
}

// Overlapping dumps (a chat dumped twice, the second time with newer messages) name the
// messages they share identically, so the ledger sends each once; a message twice in one
// dump is one event.
func TestOverlappingDumpsShareKeys(t *testing.T) {
	m := func(id, sec string) string {
		return `{"id":"` + id + `","chatId":"19:c@thread.v2","createdDateTime":"2024-01-01T00:00:` + sec + `Z","lastModifiedDateTime":"2024-02-0` + sec[1:] + `T00:00:00Z","body":{"content":"m` + id + `"}}`
	}
	first, _ := readAll(t, []byte(`{"value":[`+m("3", "03")+","+m("2", "02")+","+m("1", "01")+","+m("2", "02")+"]}"), Options{})
	second, _ := readAll(t, []byte(`[`+m("4", "04")+","+m("3", "03")+"]"), Options{})
	keys := map[string]int{}
	for _, bs := range [][]*Batch{first, second} {
		for _, b := range bs {
			for _, e := range b.Events {
				keys[e.Key]++
			}
		}
	}
	if len(first[0].Events) != 3 || first[0].Events[0].ID != "1" {
		t.Fatalf("first dump: %+v", first[0].Events)
	}
	want := map[string]int{"teams/chats/19:c@thread.v2/messages/1": 1, "teams/chats/19:c@thread.v2/messages/2": 1,
		"teams/chats/19:c@thread.v2/messages/3": 2, "teams/chats/19:c@thread.v2/messages/4": 1}
	for k, n := range want {
		if keys[k] != n {
			t.Errorf("key %s seen %d times, want %d (all: %v)", k, keys[k], n, keys)
		}
	}
}

func TestBatches(t *testing.T) {
	var parts []string
	for i, conv := range []string{"a", "a", "a", "b", "a"} {
		parts = append(parts, `{"id":"`+string(rune('1'+i))+`","chatId":"`+conv+`","createdDateTime":"2024-01-01T00:00:00Z"}`)
	}
	batches, err := readAll(t, []byte("["+strings.Join(parts, ",")+"]"), Options{BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range batches {
		got = append(got, b.Conversation+":"+itoa(len(b.Events)))
	}
	if strings.Join(got, " ") != "chats/a:2 chats/a:1 chats/b:1 chats/a:1" {
		t.Fatalf("batches %v", got)
	}
	stop := errors.New("stop")
	calls := 0
	err = Read(context.Background(), strings.NewReader("["+strings.Join(parts, ",")+"]"), "x", Options{BatchSize: 1}, func(*Batch) error {
		calls++
		return stop
	})
	if err != stop || calls != 1 {
		t.Fatalf("visit's error: %v after %d calls", err, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Read(ctx, strings.NewReader("["+strings.Join(parts, ",")+"]"), "x", Options{}, func(*Batch) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}

func itoa(n int) string { return string(rune('0' + n)) }

func TestMatch(t *testing.T) {
	for name, want := range map[string]bool{"dumps/chat-1.teams.json": true, "X.TEAMS.JSON": true, ".teams.json": false,
		"a/teams.json": false, "a.teams.json.tmp": false, "a.transcript.json": false} {
		if Match(name) != want {
			t.Errorf("Match(%q) = %v", name, !want)
		}
	}
}

func TestExpandedReplies(t *testing.T) {
	post := `{"id":"1","createdDateTime":"2024-01-01T00:00:01Z","channelIdentity":{"teamId":"t1","channelId":"c1"},"body":{"content":"post"},"replies":[` +
		`{"id":"2","createdDateTime":"2024-01-01T00:00:02Z","body":{"content":"answer"}},{"id":"3"}]}`
	batches, err := readAll(t, []byte(`{"value":[`+post+`]}`), Options{})
	findProblem(t, err, "$.value[0].replies[1].createdDateTime", "message 3: missing", transcript.ErrInvalid)
	if len(batches) != 1 || len(batches[0].Events) != 2 {
		t.Fatalf("batches %+v", batches)
	}
	r := batches[0].Events[1]
	if r.Key != "teams/teams/t1/channels/c1/messages/2" || r.Text != "answer" || r.SystemText != "Reply to message 1." {
		t.Fatalf("reply %+v", r)
	}
}
