package teams_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/archivist-project/archivist/archive/identity"
	"github.com/archivist-project/archivist/archive/transcript"
	"github.com/archivist-project/archivist/archive/transcript/teams"
)

// The pipeline's use: open the dump (a watch opens it with package beneath), read it a batch
// at a time, resolve every participant with the identity directory.
func Example() {
	dump := `{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#chats('19%3Aabc%40thread.v2')/messages",
	"value": [
	  {"id": "1616964509832", "messageType": "message", "createdDateTime": "2021-03-28T20:48:29.832Z",
	   "chatId": "19:abc@thread.v2",
	   "from": {"user": {"id": "8ea0e38b-efb3-4757-924a-5f94061cf8c2", "displayName": "Robin Kline"}},
	   "body": {"contentType": "html", "content": "<p>Hello <at id=\"0\">Alex</at></p>"},
	   "mentions": [{"id": 0, "mentionText": "Alex", "mentioned": {"user": {"id": "c27c1b19", "displayName": "Alex Wilber"}}}]},
	  {"id": "1616883610266", "messageType": "systemEventMessage", "createdDateTime": "2021-03-28T03:50:10.266Z",
	   "chatId": "19:abc@thread.v2", "from": null, "body": {"contentType": "html", "content": "<systemEventMessage/>"},
	   "eventDetail": {"@odata.type": "#microsoft.graph.membersAddedEventMessageDetail",
	     "members": [{"id": "c27c1b19", "displayName": null}],
	     "initiator": {"user": {"id": "8ea0e38b-efb3-4757-924a-5f94061cf8c2", "displayName": null}}}},
	  {"id": "x"}
	]}`
	dir, err := identity.Parse("identities.csv", strings.NewReader("source,id,email,name\nteams,8ea0e38b-efb3-4757-924a-5f94061cf8c2,robin.kline@contoso.example,\n"))
	if err != nil {
		panic(err)
	}
	err = teams.Read(context.Background(), strings.NewReader(dump), "dumps/q3.teams.json", teams.Options{Directory: dir}, func(b *teams.Batch) error {
		for _, p := range b.Participants {
			person := dir.Resolve(teams.Source, p.ID, p.Email, p.DisplayName)
			fmt.Println(p.ID, person.Email, person.Resolved)
		}
		for _, e := range b.Events {
			fmt.Println(e.Key, e.Time.UnixMilli(), e.Type, e.Affected, e.Text+"|"+e.SystemText)
		}
		return nil // the pipeline posts the batch here, skipping keys already archived
	})
	var problem *transcript.Error
	if errors.As(err, &problem) {
		fmt.Println(problem)
	}
	// Output:
	// 8ea0e38b-efb3-4757-924a-5f94061cf8c2 robin.kline@contoso.example true
	// c27c1b19 c27c1b19.teams@unresolved.invalid false
	// teams/chats/19:abc@thread.v2/messages/1616883610266 1616903410266 invited [c27c1b19] |Robin Kline added Alex Wilber.
	// teams/chats/19:abc@thread.v2/messages/1616964509832 1616964509832 message [] Hello @Alex|Mentioned: Alex Wilber.
	// dumps/q3.teams.json: $.value[2].createdDateTime: message x: missing
}
