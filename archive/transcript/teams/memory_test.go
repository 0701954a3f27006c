package teams

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

// dumpReader generates a Graph list response of n channel messages as it is read, so that a
// dump far larger than memory can be read without writing it anywhere.
type dumpReader struct {
	n, i  int
	buf   bytes.Buffer
	total int64
}

func (d *dumpReader) Read(p []byte) (int, error) {
	for d.buf.Len() < len(p) && d.i <= d.n {
		d.next()
	}
	n, err := d.buf.Read(p)
	d.total += int64(n)
	if err == io.EOF && d.i <= d.n {
		err = nil
	}
	return n, err
}

func (d *dumpReader) next() {
	switch {
	case d.i == 0:
		d.buf.WriteString(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#teams('t1')/channels('19%3Ac1%40thread.tacv2')/messages","value":[`)
	case d.i == d.n:
		d.buf.WriteString(`],"@odata.nextLink":null}`)
		d.i++
		return
	default:
		d.buf.WriteByte(',')
	}
	i := d.i
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(d.n-i) * time.Second).Format(time.RFC3339Nano)
	fmt.Fprintf(&d.buf, `{"id":"%d","replyToId":null,"etag":"%[1]d","messageType":"message","createdDateTime":"%s","lastModifiedDateTime":"%[2]s",`+
		`"lastEditedDateTime":null,"deletedDateTime":null,"subject":null,"chatId":null,"importance":"normal","locale":"en-us",`+
		`"channelIdentity":{"teamId":"t1","channelId":"19:c1@thread.tacv2"},"from":{"application":null,"device":null,"user":{"id":"u-%d","displayName":"User %[3]d","userIdentityType":"aadUser"}},`+
		`"body":{"contentType":"html","content":"<div><div>Message %[1]d for <at id=\"0\">User %[4]d</at>: see <a href=\"https://contoso.example/doc/%[1]d\">doc</a> &amp; reply <emoji id=\"smile\" alt=\"🙂\"></emoji></div></div>"},`+
		`"attachments":[],"mentions":[{"id":0,"mentionText":"User %[4]d","mentioned":{"user":{"id":"u-%[4]d","displayName":"User %[4]d"}}}],"reactions":[{"reactionType":"like","createdDateTime":"%[2]s","user":{"user":{"id":"u-1","displayName":null}}}]}`,
		1_700_000_000_000+i, created, i%200, (i+1)%200)
	d.i++
}

// TestMemoryBounded: 100,000 messages (20,000 under the race detector) are read with the live
// heap a small fraction of the dump, because one message is decoded at a time and batches
// go to visit.
func TestMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a 100,000-message dump")
	}
	n, minJSON := 100_000, int64(60<<20)
	if raceEnabled {
		n, minJSON = 20_000, 12<<20
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	d := &dumpReader{n: n}
	var peak uint64
	got, visits := 0, 0
	began := time.Now()
	err := Read(context.Background(), d, "generated.teams.json", Options{}, func(b *Batch) error {
		got += len(b.Events)
		if visits++; visits%10 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	elapsed := time.Since(began)
	if err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Fatalf("%d messages, want %d", got, n)
	}
	grown := int64(peak) - int64(base)
	t.Logf("%d messages, %d MiB of JSON, %.0f messages/s (%.1f MiB/s), peak heap %+.1f MiB over the start",
		n, d.total>>20, float64(n)/elapsed.Seconds(), float64(d.total)/(1<<20)/elapsed.Seconds(), float64(grown)/(1<<20))
	// a batch of 500 events is about 1 MiB; holding the dump would take its size and more
	if d.total < minJSON || grown > 24<<20 {
		t.Fatalf("heap grew by %d bytes for %d bytes of JSON: not bounded", grown, d.total)
	}
}

// endless is a 1 GB file that is one JSON string: never held, refused after MaxMessage.
type endless struct{ n, limit int64 }

func (e *endless) Read(p []byte) (int, error) {
	if e.n == 0 && len(p) > 0 {
		p[0] = '['
		e.n++
		return 1, nil
	}
	if e.n >= e.limit {
		return 0, io.EOF
	}
	if int64(len(p)) > e.limit-e.n {
		p = p[:e.limit-e.n]
	}
	for i := range p {
		p[i] = '"'
		if e.n+int64(i) > 1 {
			p[i] = 'a'
		}
	}
	e.n += int64(len(p))
	return len(p), nil
}

func TestGigabyteValueIsNotRead(t *testing.T) {
	e := &endless{limit: 1 << 30}
	err := Read(context.Background(), e, "huge.teams.json", Options{MaxMessage: 1 << 20}, func(*Batch) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "huge.teams.json: $[0]: a JSON value larger than 1048576 bytes: reading stopped here") {
		t.Fatalf("err %v", err)
	}
	if e.n > 3<<20 {
		t.Fatalf("read %d bytes of a value bounded to 1 MiB", e.n)
	}
}

func BenchmarkRead(b *testing.B) {
	n := 0
	for b.Loop() {
		if err := Read(context.Background(), &dumpReader{n: 10_000}, "g.teams.json", Options{}, func(bt *Batch) error { n += len(bt.Events); return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}
