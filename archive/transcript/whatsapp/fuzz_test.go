package whatsapp

import (
	"bytes"
	"context"
	"testing"
	"testing/fstest"
	"time"
)

// checkBatch asserts what every Batch promises, whatever the input.
func checkBatch(t *testing.T, b *Batch, ids map[string]bool) {
	t.Helper()
	people := map[string]bool{}
	for _, p := range b.Participants {
		people[p.ID] = true
	}
	for i, e := range b.Events {
		if ids[e.ID] || e.ID == "" || e.Key == "" {
			t.Fatalf("event %d: ID %q not unique or empty (Key %q)", i, e.ID, e.Key)
		}
		ids[e.ID] = true
		if e.From == "" || !people[e.From] || e.Type == "" || e.Time.IsZero() {
			t.Fatalf("event %d has no sender, type or time: %+v", i, e)
		}
		if e.Type == "message" && e.Text == "" && e.SystemText == "" {
			t.Fatalf("event %d says nothing: %+v", i, e)
		}
		for _, f := range e.Files {
			if f.Entry == "" && f.Path == "" || f.Name == "" || !safeMediaName(f.Name) {
				t.Fatalf("event %d: bad file %+v", i, f)
			}
		}
	}
}

func fuzzChat(t *testing.T, c *Chat, err error) {
	if err != nil {
		return
	}
	ids := map[string]bool{}
	n := 0
	if err := c.Walk(context.Background(), func(b *Batch) error {
		checkBatch(t, b, ids)
		n += len(b.Events)
		return nil
	}); err != nil && problems(err) == nil {
		t.Fatalf("Walk: %v", err)
	}
	if n != c.Messages() {
		t.Fatalf("%d events, Open counted %d", n, c.Messages())
	}
}

var fuzzLimits = Limits{MaxLine: 4096, MaxMessage: 16384, MaxText: 1 << 20, MaxMedia: 1 << 20}

// FuzzText fuzzes a loose chat text (and the media beside it); its seeds are the fixtures.
func FuzzText(f *testing.F) {
	for _, s := range []string{iosUS(), androidDE(), "", "\n", "[", "1/1/23, 1:00 - a: b\n1/1/23, 1:00 - a: b",
		"13/13/13, 1:00 - a: b", "1/2/23, 12:00 AM - : \n", "[2023/1/1, 1:00:00] x: \u200e<attached: ..>",
		"1.1.23, 1:00 - x: IMG-1.jpg (file attached)\n\n", "1-1-2023 00.00 – \u202a+1 555\u202c: <Media omitted>"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		name := "WhatsApp Chat with X.txt"
		fsys := fstest.MapFS{name: {Data: data}, "IMG-1.jpg": {Data: []byte(jpg)}}
		c, err := OpenText(fsys, name, Options{Location: time.UTC, DateOrder: OrderDMY, Limits: fuzzLimits})
		fuzzChat(t, c, err)
		c, err = OpenText(fsys, name, Options{Location: time.UTC, Limits: fuzzLimits})
		fuzzChat(t, c, err)
	})
}

// FuzzZip fuzzes the ZIP itself.
func FuzzZip(f *testing.F) {
	f.Add(iosZip(f))
	f.Add(buildZip(f, zent{name: "x/WhatsApp Chat with A.txt", data: []byte(androidDE())}, zent{name: "x/IMG-20230113-WA0001.jpg", data: []byte(jpg)}))
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := OpenZip(bytes.NewReader(data), int64(len(data)), "fuzz.zip", Options{Location: time.UTC, DateOrder: OrderMDY, Limits: fuzzLimits})
		fuzzChat(t, c, err)
	})
}
