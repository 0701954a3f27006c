package teams

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// msg is a minimal chat message with the given body and extra members.
func msg(id, contentType, content string, extra map[string]any) map[string]any {
	m := map[string]any{"id": id, "messageType": "message", "createdDateTime": "2024-01-02T03:04:05.678Z",
		"chatId": "19:chat@thread.v2",
		"from":   map[string]any{"user": map[string]any{"id": "u-1", "displayName": "Lisa Holmes", "userIdentityType": "aadUser"}},
		"body":   map[string]any{"contentType": contentType, "content": content}}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// one reads a single message and returns its event's text and systemText.
func one(t *testing.T, m map[string]any) (text, sys string) {
	t.Helper()
	batches, err := readAll(t, marshal(t, []any{m}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 || len(batches[0].Events) != 1 {
		t.Fatalf("want one event, got %d batches", len(batches))
	}
	e := batches[0].Events[0]
	return e.Text, e.SystemText
}

func TestHTMLBodies(t *testing.T) {
	user := func(id, name string) map[string]any {
		return map[string]any{"user": map[string]any{"id": id, "displayName": name}}
	}
	for _, c := range []struct {
		name, html string
		mentions   []any
		want       string
	}{
		{"nested inline tags", `<div><div><p>Hi <b><i>there</i></b>, <span style="color:red">team</span></p></div></div>`, nil, "Hi there, team"},
		{"entities and emoji", `<p>5 &lt; 6 &amp;&amp; &quot;x&quot; &#39;y&#39; &eacute; 😀 &#128512;</p>`, nil, `5 < 6 && "x" 'y' é 😀 😀`},
		{"emoji element", `<p>ok <emoji id="1f44d_thumbsup" alt="👍" title="Thumbs up"><img src="x"></emoji> done</p>`, nil, "ok 👍 done"},
		{"custom emoji", `<p><customemoji id="dGVz" alt="partyparrot" source="https://graph.microsoft.com/x"></customemoji></p>`, nil, ":partyparrot:"},
		{"at without a mentions entry", `<at id="7">Someone</at> look`, nil, "@Someone look"},
		{"at with a string id", `<at id="0">Al</at> hi`, []any{map[string]any{"id": "0", "mentionText": "Al", "mentioned": user("u-2", "Alex Wilber")}}, "@Al hi"},
		{"split name, one entity", `<at id="0">Megan</at> <at id="1">Bowen</at>, hi <at id="2">Megan</at>`, []any{
			map[string]any{"id": 0, "mentionText": "Megan", "mentioned": user("u-3", "Megan Bowen")},
			map[string]any{"id": 1, "mentionText": "Bowen", "mentioned": user("u-3", "Megan Bowen")},
			map[string]any{"id": 2, "mentionText": "Megan", "mentioned": user("u-3", "Megan Bowen")}}, "@Megan Bowen, hi @Megan"},
		{"two people side by side", `<at id="0">A</at> <at id="1">B</at>`, []any{
			map[string]any{"id": 0, "mentionText": "A", "mentioned": user("u-4", "A")},
			map[string]any{"id": 1, "mentionText": "B", "mentioned": user("u-5", "B")}}, "@A @B"},
		{"blocks and breaks", `line 1<br>line 2<br/><div>block</div><p></p><p></p><p>para</p>`, nil, "line 1\nline 2\nblock\npara"},
		{"lists and tables", `<ul><li>one</li><li>two</li></ul><table><tr><td>a</td><td>b</td></tr><tr><th>c</th></tr></table>`, nil, "- one\n- two\na | b\nc"},
		{"a Teams code block", "run<codeblock class=\"\"><code>a  b\n  c</code></codeblock>done", nil, "run\na  b\n  c\ndone"},
		{"a quoted reply", `<blockquote itemscope="" itemtype="http://schema.skype.com/Reply" itemid="1612"><strong itemprop="mri">Alex Wilber</strong><span itemprop="time" itemid="1612"></span><p itemprop="preview">the original</p></blockquote><p>my answer</p>`, nil, "> Alex Wilber\n> the original\nmy answer"},
		{"code keeps its spaces", "<pre><code>if x {\n    y()\n}</code></pre>after", nil, "if x {\n    y()\n}\nafter"},
		{"links", `<a href="https://a.example/x">the page</a> <a href="mailto:b@example.com">b@example.com</a> <a href="javascript:alert(1)">click</a>`, nil, "the page (https://a.example/x) b@example.com click"},
		{"images", `<img src="https://graph.microsoft.com/v1.0/chats/x/messages/1/hostedContents/aWQ/$value" alt="image"><img alt="chart">`, nil, "[image][image: chart]"},
		{"comments, scripts, stray brackets", `a <!-- hidden --> b <script>evil()</script> c < d > e <3`, nil, "a b c < d > e <3"},
		{"unknown attachment", `see <attachment id="zzz"></attachment>`, nil, "see [attachment zzz]"},
		{"attributes with > inside quotes", `<span title="a>b">x</span>y`, nil, "xy"},
		{"unclosed tag", `x <b`, nil, "x <b"},
	} {
		t.Run(c.name, func(t *testing.T) {
			extra := map[string]any{}
			if c.mentions != nil {
				extra["mentions"] = c.mentions
			}
			text, _ := one(t, msg("1", "html", c.html, extra))
			if text != c.want {
				t.Fatalf("got %q, want %q", text, c.want)
			}
		})
	}
}

func TestMentionedNote(t *testing.T) {
	_, sys := one(t, msg("1", "html", `<at id="0">WebhookTesting</at> <at id="1">Ghost</at> hi`, map[string]any{"mentions": []any{
		map[string]any{"id": 0, "mentionText": "WebhookTesting", "mentioned": map[string]any{"conversation": map[string]any{
			"id": "68a3e365", "displayName": "WebhookTesting", "conversationIdentityType": "team"}}},
		map[string]any{"id": 1, "mentionText": "Ghost", "mentioned": map[string]any{"user": map[string]any{"id": "u-9", "displayName": nil}}},
	}}))
	if sys != "Mentioned: WebhookTesting (team), Ghost." {
		t.Fatalf("systemText %q", sys)
	}
}

func TestTextBodyIsUnescaped(t *testing.T) {
	text, _ := one(t, msg("1", "Text", "a &lt;b&gt; &amp; c\r\nnext", nil))
	if text != "a <b> & c\nnext" {
		t.Fatalf("got %q", text)
	}
}

func TestDeletedMessages(t *testing.T) {
	_, sys := one(t, msg("1", "html", "", map[string]any{"deletedDateTime": "2024-01-02T05:00:00Z"}))
	if sys != "A message by Lisa Holmes was deleted 2024-01-02 05:00:00 UTC. Its content is gone." {
		t.Fatalf("emptied body: %q", sys)
	}
	text, sys := one(t, msg("1", "html", "<p>still here</p>", map[string]any{"deletedDateTime": "2024-01-02T05:00:00Z", "from": nil}))
	if text != "still here" || sys != "A message was deleted 2024-01-02 05:00:00 UTC. The export still holds its text." {
		t.Fatalf("kept body: %q %q", text, sys)
	}
}

func TestUnknownSystemEvents(t *testing.T) {
	for _, c := range []struct {
		detail any
		typ    string
		want   string
	}{
		{map[string]any{"@odata.type": "#microsoft.graph.brandNewEventMessageDetail", "initiator": map[string]any{"user": map[string]any{"id": "u-1", "displayName": "Lisa Holmes"}}},
			"systemEventMessage", `Teams system event "microsoft.graph.brandNewEventMessageDetail" from Lisa Holmes.`},
		{nil, "systemEventMessage", "Teams system event from Lisa Holmes, without details."},
		{"not an object", "message", `Teams system event "(unreadable eventDetail)" from Lisa Holmes.`},
		{map[string]any{"@odata.type": "#microsoft.graph.callEndedEventMessageDetail", "callDuration": "P1DT2H3M4S"}, "systemEventMessage", "A call ended after 26h3m4s."},
		{map[string]any{"@odata.type": "#microsoft.graph.callEndedEventMessageDetail", "callDuration": "59 seconds"}, "systemEventMessage", "A call ended."},
		{map[string]any{"@odata.type": "#microsoft.graph.membersDeletedEventMessageDetail", "members": []any{map[string]any{"id": "u-1"}},
			"initiator": map[string]any{"user": map[string]any{"id": "u-1"}}}, "systemEventMessage", "Lisa Holmes left."},
		{map[string]any{"@odata.type": "#microsoft.graph.conversationMemberRoleUpdatedEventMessageDetail", "conversationMemberRoles": []any{"owner"},
			"conversationMemberUser": map[string]any{"id": "u-7"}}, "systemEventMessage", "Lisa Holmes made u-7 owner."},
	} {
		extra := map[string]any{"messageType": c.typ}
		if c.detail != nil {
			extra["eventDetail"] = c.detail
		}
		_, sys := one(t, msg("1", "html", "<systemEventMessage/>", extra))
		if sys != c.want {
			t.Errorf("%v: got %q, want %q", c.detail, sys, c.want)
		}
	}
}

func TestCards(t *testing.T) {
	for _, c := range []struct {
		content any
		want    string
	}{
		{`{"type":"AdaptiveCard","body":[{"type":"Container","items":[{"type":"TextBlock","text":"Deep"}]}]}`, "Deep"},
		{json.RawMessage(`{"title": "Hero", "text": "as an object"}`), "Hero\nas an object"},
		{`{"sections":[{"activityTitle":"Build 42","facts":[{"name":"Status","value":"failed"}]}]}`, "Build 42\nStatus: failed"},
		{`{not json`, "[card application/vnd.microsoft.card.adaptive that is not valid JSON]"},
		{nil, "[card: application/vnd.microsoft.card.adaptive]"},
	} {
		text, _ := one(t, msg("1", "html", `<attachment id="c"></attachment>`, map[string]any{"attachments": []any{
			map[string]any{"id": "c", "contentType": "application/vnd.microsoft.card.adaptive", "content": c.content}}}))
		if text != c.want {
			t.Errorf("%v: got %q, want %q", c.content, text, c.want)
		}
	}
}

func TestAttachments(t *testing.T) {
	batches, err := readAll(t, marshal(t, []any{msg("1", "html", `<attachment id="a"></attachment><attachment id="b"></attachment><attachment id="m"></attachment><attachment id="t"></attachment>`,
		map[string]any{"attachments": []any{
			map[string]any{"id": "a", "contentType": "reference", "contentUrl": "https://contoso.sharepoint.com/a/b/../report.pdf", "name": "../../etc/passwd"},
			map[string]any{"id": "b", "contentType": "reference", "contentUrl": "file:///etc/passwd", "name": "local.txt"},
			map[string]any{"id": "m", "contentType": "meetingReference", "name": "Weekly sync"},
			map[string]any{"id": "t", "contentType": "tabReference", "name": "Bing"},
		}})}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := batches[0].Events[0]
	if e.Text != "[file: .._.._etc_passwd][file: local.txt][meeting: Weekly sync][tab: Bing]" {
		t.Errorf("text %q", e.Text)
	}
	if len(e.Files) != 1 || e.Files[0].Href != "https://contoso.sharepoint.com/a/b/../report.pdf" || e.Files[0].Name != ".._.._etc_passwd" {
		t.Errorf("files %+v", e.Files)
	}
	if !strings.Contains(e.SystemText, "File local.txt: the export states no usable link to it.") {
		t.Errorf("systemText %q", e.SystemText)
	}
}

func TestLastModifiedIsNotAnEdit(t *testing.T) {
	_, sys := one(t, msg("1", "html", "hi", map[string]any{"lastModifiedDateTime": "2024-05-05T00:00:00Z"}))
	if strings.Contains(sys, "Edited") {
		t.Fatalf("a reaction's lastModifiedDateTime read as an edit: %q", sys)
	}
	_, sys = one(t, msg("1", "html", "hi", map[string]any{"lastEditedDateTime": "2024-05-05T00:00:00Z"}))
	if sys != "Edited 2024-05-05 00:00:00 UTC; this is the final text." {
		t.Fatalf("edit: %q", sys)
	}
}

func TestEveryReactionKept(t *testing.T) {
	var rs []any
	for i := range 3 {
		rs = append(rs, map[string]any{"reactionType": "laugh", "createdDateTime": fmt.Sprintf("2024-01-02T03:0%d:00Z", i),
			"user": map[string]any{"user": map[string]any{"id": fmt.Sprintf("u-%d", i), "displayName": fmt.Sprintf("P%d", i)}}})
	}
	_, sys := one(t, msg("1", "html", "hi", map[string]any{"reactions": rs}))
	want := "Reactions: 😆 laugh by P0 at 2024-01-02 03:00:00 UTC; 😆 laugh by P1 at 2024-01-02 03:01:00 UTC; 😆 laugh by P2 at 2024-01-02 03:02:00 UTC."
	if sys != want {
		t.Fatalf("got %q", sys)
	}
}

// Markup built to make a naive renderer quadratic (tags whose quotes never close, thousands
// of mentions) is rendered in linear time.
func TestPathologicalHTMLIsLinear(t *testing.T) {
	var mentions []any
	var body strings.Builder
	for i := range 20_000 {
		mentions = append(mentions, map[string]any{"id": i, "mentionText": "P", "mentioned": map[string]any{"user": map[string]any{"id": fmt.Sprint("u", i)}}})
		fmt.Fprintf(&body, `<at id="%d">P</at> `, i)
	}
	body.WriteString(strings.Repeat(`<a x="`, 100_000))
	body.WriteString(strings.Repeat(`<b`, 100_000))
	began := time.Now()
	text, _ := one(t, msg("1", "html", body.String(), map[string]any{"mentions": mentions}))
	if d := time.Since(began); d > 20*time.Second || !strings.HasPrefix(text, "@P @P") {
		t.Fatalf("took %v; text starts %.20q", d, text)
	}
}

func TestOneOnOneChatHasARecipient(t *testing.T) {
	const a, b = "8ea0e38b-efb3-4757-924a-5f94061cf8c2", "97f62344-57dc-409c-88ad-c4af14158ff5"
	m := msg("1", "text", "just us", map[string]any{"chatId": "19:" + a + "_" + b + "@unq.gbl.spaces",
		"from": map[string]any{"user": map[string]any{"id": b, "displayName": "Alex Wilber"}}})
	batches, err := readAll(t, marshal(t, []any{m, msg("2", "text", "group", nil)}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := batches[0].Events[0]
	if len(e.To) != 1 || e.To[0] != a || len(batches[0].Participants) != 2 || batches[0].Participants[1].ID != a {
		t.Fatalf("one-on-one: to %v, participants %+v", e.To, batches[0].Participants)
	}
	if to := batches[1].Events[0].To; to != nil {
		t.Fatalf("a group chat message is addressed to %v", to)
	}
}

// From Graph's getAllRetainedMessages example: a one-on-one chat reply that quotes the
// message it answers in a <blockquote>.
func TestRetainedMessageQuotingReply(t *testing.T) {
	data := `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Collection(chatMessage)","value":[{"@odata.type":"#microsoft.graph.chatMessage",` +
		`"id":"1600457965467","replyToId":null,"messageType":"message","createdDateTime":"2020-09-18T19:39:25.467Z",` +
		`"chatId":"19:0de69e5e-2da8-4cf2-821f-5e6585b2c65b_5c64e248-3269-4268-a36e-0f80314e9c39@unq.gbl.spaces",` +
		`"from":{"application":null,"device":null,"conversation":null,"user":{"id":"0de69e5e-2da8-4cf2-821f-5e6585b2c65b","displayName":"Richard Wilson","userIdentityType":"aadUser"}},` +
		`"body":{"contentType":"html","content":"<div>\n<blockquote itemscope=\"\" itemtype=\"http://schema.skype.com/Reply\" itemid=\"1600457867820\">\n<strong itemprop=\"mri\" itemid=\"8:orgid:0de69e5e-2da8-4cf2-821f-5e6585b2c65b\">Richard Wilson</strong><span itemprop=\"time\" itemid=\"1600457867820\"></span>\n<p itemprop=\"preview\">1237</p>\n</blockquote>\n<p>this is a reply</p>\n</div>"},` +
		`"attachments":[],"mentions":[],"reactions":[]}]}`
	batches, err := readAll(t, []byte(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := batches[0].Events[0]
	if e.Text != "> Richard Wilson\n> 1237\nthis is a reply" || len(e.To) != 1 || e.To[0] != "5c64e248-3269-4268-a36e-0f80314e9c39" ||
		e.Time.UnixMilli() != 1600457965467 {
		t.Fatalf("event %+v", e)
	}
}
