package slack_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/archivist-project/archivist/archive/identity"
	"github.com/archivist-project/archivist/archive/transcript/slack"
)

// The pipeline's use: open the ZIP (here in memory; a watch opens the file with package
// beneath), walk it a day at a time, resolve every participant with the identity directory.
func Example() {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range map[string]string{
		"users.json":                   `[{"id":"U1","team_id":"T1","profile":{"real_name":"Lisa Holmes"}}]`,
		"channels.json":                `[{"id":"C1","name":"general"}]`,
		"general/2023-05-24.json":      `[{"type":"message","user":"U1","ts":"1684922718.000100","text":"hello <!channel>"}]`,
		"stray-folder/2023-05-24.json": `[]`,
	} {
		w, err := zw.Create(name)
		must(err)
		_, err = w.Write([]byte(body))
		must(err)
	}
	must(zw.Close())

	dir, err := identity.Parse("identities.csv", strings.NewReader("source,id,email,name\nslack,U1,lisa.holmes@greenvaultcapital.com,\n"))
	must(err)
	x, err := slack.Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "exports/acme.zip", slack.Options{})
	if err != nil {
		fmt.Println(err) // the whole export is held
		return
	}
	err = x.Walk(context.Background(), func(d *slack.Day) error {
		for _, p := range d.Participants {
			person := dir.Resolve("slack", p.ID, p.Email, p.DisplayName)
			fmt.Println(d.Conversation.Title, p.ID, person.Email, person.Resolved)
		}
		for _, e := range d.Events {
			fmt.Println(e.Key, e.Time.UnixMilli(), e.Type, e.Text)
		}
		return nil // the pipeline posts the day's events here, skipping keys already archived
	})
	var problem *slack.Error
	if errors.As(err, &problem) {
		fmt.Println(problem)
	}
	// Output:
	// #general U1 lisa.holmes@greenvaultcapital.com true
	// slack/T1/C1/1684922718.000100 1684922718000 message hello @channel
	// exports/acme.zip: stray-folder/: 1 day files in a folder that channels.json, groups.json, dms.json and mpims.json do not name: not read
}
