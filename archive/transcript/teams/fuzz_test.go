package teams

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/archivist-project/archivist/archive/transcript"
)

// checkBatch asserts what every Batch promises, whatever the input.
func checkBatch(t *testing.T, b *Batch) {
	t.Helper()
	if b.Conversation == "" || len(b.Events) == 0 {
		t.Fatalf("batch without conversation or events: %+v", b)
	}
	people := map[string]bool{}
	for _, p := range b.Participants {
		if p.ID == "" || p.DisplayName == "" || people[p.ID] {
			t.Fatalf("participant %+v empty or twice", p)
		}
		people[p.ID] = true
	}
	ids := map[string]bool{}
	for i, e := range b.Events {
		if e.ID == "" || ids[e.ID] || e.Key != "teams/"+b.Conversation+"/messages/"+e.ID {
			t.Fatalf("event %d: id %q twice or key %q", i, e.ID, e.Key)
		}
		ids[e.ID] = true
		if i > 0 && e.Time.Before(b.Events[i-1].Time) {
			t.Fatalf("event %d before event %d", i, i-1)
		}
		if !people[e.From] || e.Type == "" {
			t.Fatalf("event %d: sender %q not a participant, or no type", i, e.From)
		}
		for _, a := range append(slices.Clone(e.To), e.Affected...) {
			if !people[a] {
				t.Fatalf("event %d: affected %q not a participant", i, a)
			}
		}
		if !utf8.ValidString(e.Text) || !utf8.ValidString(e.SystemText) {
			t.Fatalf("event %d: invalid UTF-8", i)
		}
		for _, f := range e.Files {
			u, err := url.Parse(f.Href)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || f.Name == "" || strings.ContainsAny(f.Name, "/\\") || f.Path != "" {
				t.Fatalf("event %d: bad file %+v", i, f)
			}
		}
	}
}

func fuzzRead(t *testing.T, data []byte) {
	err := Read(context.Background(), bytes.NewReader(data), "fuzz.teams.json", Options{MaxMessage: 64 << 10, BatchSize: 7, Conversation: "fallback"},
		func(b *Batch) error {
			checkBatch(t, b)
			return nil
		})
	for _, p := range problems(t, err) {
		if !errors.Is(p, transcript.ErrInvalid) && !errors.Is(p, transcript.ErrTooLarge) {
			t.Fatalf("problem %v is neither ErrInvalid nor ErrTooLarge", p)
		}
	}
}

// FuzzTeams fuzzes whole files; its seed corpus (the fixtures and the ugly shapes) runs in
// every go test. Fuzz it with a short -fuzzminimizetime (2s): minimizing an input grown from
// the 13 KB fixtures otherwise keeps the worker busy for minutes without new executions.
func FuzzTeams(f *testing.F) {
	f.Add(readFixture(f, "chat.teams.json"))
	f.Add(readFixture(f, "channel.teams.json"))
	for _, s := range []string{``, `[]`, `{}`, `[null]`, `{"value":[{}]}`, `[{"id":"1"}]`, "\uFEFF[]", `[] []`, `{"value":1}`,
		`[{"id":"1","createdDateTime":"2024-01-01T00:00:00Z","body":{"content":"<at id=\"0\"><at id=\"0\">x</at></at><a href=x><a>y</a></a><pre><pre>z</pre"},"mentions":[{"id":0},{"id":"0"},{"id":null}]}]`,
		`[{"id":"1","createdDateTime":"2024-01-01T00:00:00Z","eventDetail":{"@odata.type":"#microsoft.graph.membersAddedEventMessageDetail","members":[{},{"id":""},{"displayName":"x"}]}}]`,
		`[{"id":"1","createdDateTime":"2024-01-01T00:00:00Z","chatId":" ","channelIdentity":{"teamId":"t"},"deletedDateTime":"x","lastEditedDateTime":"y","reactions":[{"user":{}},{}],"attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":"[[[[{\"text\":1}]]]]"},{"contentType":"reference","contentUrl":"https://h/%zz"}]}]`,
		`{"value":[{"id":"1","createdDateTime":"2024-01-01T00:00:00Z","eventDetail":{"@odata.type":"#microsoft.graph.callEndedEventMessageDetail","callDuration":"PT99999999999H"}}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, data)
	})
}

// FuzzHTML fuzzes the body renderer alone.
func FuzzHTML(f *testing.F) {
	for _, s := range []string{"<div><at id=\"0\">A</at>&nbsp;<at id=\"1\">B</at></div>", "<emoji alt=\"x\"><emoji>", "<<>>", "<a href='", "&#0;&#xD800;", "<pre>\r\n</pre>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := &builder{rd: &reader{}, m: &chatMessage{Mentions: []mention{{ID: []byte("0"), MentionText: "A"}}}}
		out := newRenderer(b).render(s)
		if strings.Contains(out, "\n\n\n") || out != strings.TrimSpace(out) {
			t.Fatalf("render(%q) = %q: not tidy", s, out)
		}
	})
}
