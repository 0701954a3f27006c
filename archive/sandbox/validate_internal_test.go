package sandbox

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzWholeAndByPartsAgree: the one-pass decode of a conversation (grValidate) decides every
// body as the decode a level at a time does, with the same events, keys and error.
func FuzzWholeAndByPartsAgree(f *testing.F) {
	now := time.UnixMilli(1_800_000_000_000)
	ms := fmt.Sprint(now.Add(-time.Hour).UnixMilli())
	valid := `{"conversationOverview":{"conversationType":"T","initiatorName":"A","createdAt":` + ms +
		`,"initialParticipants":[{"displayName":"A","userType":"initiator"}]},"conversationEvents":[` +
		`{"eventTime":` + ms + `,"eventType":"Message","participants":[{"displayName":"A","userType":"initiator"}],"content":{"message":"hi","textType":"text/plain"}},` +
		`{"eventTime":` + ms + `,"eventType":"File_transfer","participants":[{"displayName":"A"},{"displayName":"B","userType":"recipient"}],` +
		`"files":[{"filename":"a.pdf","fileKey":"default/w/a.pdf","isInlined":false},{"filename":"b","fileKey":"default/x/b","fileHref":"https://e.com/b","isInlined":true}]}]}`
	f.Add(valid)
	for _, m := range [][2]string{
		{`"eventType":"Message"`, `"eventType":"message"`},
		{`"content":{"message":"hi","textType":"text/plain"}`, `"content":{"message":""}`},
		{`"isInlined":false`, `"isInlined":"false"`},
		{`"isInlined":false`, `"isInlined":null`},
		{`"displayName":"B"`, `"displayName":7`},
		{`"displayName":"B","userType":"recipient"`, `"displayName":"B","userType":"initiator"`},
		{`"conversationType":"T"`, `"conversationType":"T","platform":1`},
		{`"files":[`, `"attachments":[],"files":[`},
		{`{"eventTime":` + ms + `,"eventType":"Message"`, `null,{"eventTime":` + ms + `,"eventType":"Message"`},
		{`"eventTime":` + ms, `"eventTime":"` + ms + `"`},
		{`"eventTime":` + ms, `"eventTime":1.5`},
		{`"eventTime":` + ms, `"eventTime":null`},
		{`"createdAt":` + ms, `"createdAt":5`},
		{`"fileKey":"default/w/a.pdf"`, `"fileKey":"w/a.pdf"`},
		{`"https://e.com/b"`, `"b"`},
		{`{"conversationOverview":{`, `{"conversationOverview":null,"x":{`},
	} {
		f.Add(strings.Replace(valid, m[0], m[1], 1))
	}
	f.Add(valid + " {}")
	f.Add(`{"conversationOverview":5,"conversationEvents":[]}`)
	f.Add(`{"conversationEvents":[{}]}`)
	f.Add(`[]`)
	// A repeated key: the last value counts, whole, not a merge of both.
	f.Add(strings.Replace(valid, `{"conversationOverview":{`, `{"conversationOverview":{"conversationType":"T"},"conversationOverview":{`, 1))
	f.Add(strings.Replace(valid, `"conversationType":"T",`, ``, 1) + ``)
	f.Add(strings.Replace(strings.Replace(valid, `"conversationType":"T",`, ``, 1), `{"conversationOverview":{`, `{"conversationOverview":{"conversationType":"T"},"conversationOverview":{`, 1))
	f.Add(strings.Replace(valid, `"content":{"message":"hi"`, `"content":{"message":"hi"},"content":{"textType":"x"`, 1))
	s := &Server{opts: Options{ConversationType: "T"}}
	f.Fuzz(func(t *testing.T, body string) {
		n1, k1, e1 := s.grValidate([]byte(body), now)
		n2, k2, e2 := s.grValidateByParts([]byte(body), now)
		if fmt.Sprint(e1) != fmt.Sprint(e2) || n1 != n2 || !slices.Equal(k1, k2) {
			t.Fatalf("%s\nwhole:    %d %v %v\nby parts: %d %v %v", body, n1, k1, e1, n2, k2, e2)
		}
	})
}

func BenchmarkValidateConversation(b *testing.B) {
	now := time.Now()
	ms := fmt.Sprint(now.Add(-time.Hour).UnixMilli())
	var evs []string
	for i := range 500 {
		evs = append(evs, fmt.Sprintf(`{"eventTime":%s,"eventType":"File_transfer","participants":[{"displayName":"Bench export","corporateEmail":"bench@example.com","userType":"initiator"}],"systemText":"File archived from bench:batch/f%05d.bin","files":[{"filename":"f%05d.bin","fileKey":"default/bench/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef/batch/f%05d.bin","isInlined":false}]}`, ms, i, i, i))
	}
	body := []byte(`{"conversationOverview":{"conversationType":"T","initiatorName":"Bench export","initiatorEmail":"bench@example.com","createdAt":` + ms +
		`,"initialParticipants":[{"displayName":"Bench export","corporateEmail":"bench@example.com","userType":"initiator"}]},"conversationEvents":[` + strings.Join(evs, ",") + `]}`)
	s := &Server{opts: Options{ConversationType: "T"}}
	for _, c := range []struct {
		name string
		f    func([]byte, time.Time) (int, []fileKeyRef, error)
	}{{"whole", s.grValidate}, {"by-parts", s.grValidateByParts}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := c.f(body, now); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*500), "µs/event")
		})
	}
}
