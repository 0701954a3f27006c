package control

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/archivist-project/archivist/journal"

	"github.com/archivist-project/archivist/archive/testwait"
)

// newService builds a journal with one record in each interesting state.
func newService(t *testing.T) (*Service, map[string]uint64) {
	t.Helper()
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	day := func(d int) time.Time { return time.Date(2026, 11, d, 12, 0, 0, 0, time.UTC) }
	recs := []*journal.Record{
		{Watch: "teams", Path: "done.pdf", Kind: "file", Size: 10, State: journal.Discovered, DiscoveredAt: day(1)},
		{Watch: "teams", Path: "held.pdf", Kind: "file", Size: 20, State: journal.Discovered, DiscoveredAt: day(2)},
		{Watch: "teams", Path: "pending.pdf", Kind: "file", Size: 30, State: journal.Discovered, DiscoveredAt: day(3),
			Lanes: map[string]time.Time{journal.LanePut: day(3)}},
		{Watch: "slack", Path: "other.txt", Kind: "file", Size: 40, State: journal.Discovered, DiscoveredAt: day(4),
			Lanes: map[string]time.Time{journal.LanePut: day(4)}},
	}
	first := make([]journal.Entry, len(recs))
	stored, err := j.Insert(recs, first)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]uint64{}
	for _, r := range stored {
		ids[string(r.Path)] = r.ID
	}
	set := func(id uint64, fn func(r *journal.Record)) {
		if err := j.Update(id, func(r *journal.Record) ([]journal.Entry, error) { fn(r); return nil, nil }); err != nil {
			t.Fatal(err)
		}
	}
	set(ids["done.pdf"], func(r *journal.Record) {
		r.State, r.FileKey, r.SHA256, r.PostedAt = journal.Posted, "default/teams/abc/done.pdf", "abc", day(1)
		r.Forwards = map[string]*journal.Forward{"talkdesk": {State: journal.ForwardHeld, Reason: "409"}}
	})
	set(ids["held.pdf"], func(r *journal.Record) { r.Hold("archive refused the file: 403", day(2)) })
	svc := &Service{J: j}
	svc.SetWatches([]WatchInfo{{Name: "teams", Path: "/srv/drop/teams"}, {Name: "slack", Path: "/srv/drop/slack"}})
	return svc, ids
}

func TestQueueFilters(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	paths := func(f Filter) string {
		items, err := svc.Queue(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range items {
			out = append(out, it.Path)
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct {
		f    Filter
		want string
	}{
		{Filter{}, "held.pdf,pending.pdf,other.txt"},
		{Filter{State: journal.Held}, "held.pdf"},
		{Filter{Watch: "slack"}, "other.txt"},
		{Filter{All: true}, "done.pdf,held.pdf,pending.pdf,other.txt"},
		{Filter{Destination: "talkdesk"}, "done.pdf"},
		{Filter{Limit: 1}, "held.pdf"},
	} {
		if got := paths(c.f); got != c.want {
			t.Errorf("Queue(%+v) = %s, want %s", c.f, got, c.want)
		}
	}
}

func TestShowFindsRecordsEveryWay(t *testing.T) {
	svc, ids := newService(t)
	for _, ref := range []string{"2", "#2", "teams:held.pdf", "/srv/drop/teams/held.pdf"} {
		d, err := svc.Show(context.Background(), ref)
		if err != nil || d.Record.ID != ids["held.pdf"] {
			t.Errorf("Show(%q) = %v, %v", ref, d, err)
		}
	}
	if _, err := svc.Show(context.Background(), "teams:nope.pdf"); err == nil {
		t.Error("Show of an unknown path succeeded")
	}
}

func TestRetryReleasesHeldAndForwards(t *testing.T) {
	svc, ids := newService(t)
	res, err := svc.Retry(context.Background(), RetryRequest{AllHeld: true})
	if err != nil || res.Released != 1 {
		t.Fatalf("retry --all-held: %+v, %v", res, err)
	}
	if r, _ := svc.J.Get(ids["held.pdf"]); r.State != journal.Discovered {
		t.Fatalf("held record is %s after retry", r.State)
	}
	res, err = svc.Retry(context.Background(), RetryRequest{AllHeld: true, Destination: "talkdesk"})
	if err != nil || res.Released != 1 {
		t.Fatalf("retry --destination: %+v, %v", res, err)
	}
	r, _ := svc.J.Get(ids["done.pdf"])
	if _, due := r.Due(journal.ForwardLane("talkdesk")); !due || r.Forwards["talkdesk"].State != journal.ForwardPending {
		t.Fatalf("forward not released: %+v", r.Forwards["talkdesk"])
	}
	if _, err := svc.Retry(context.Background(), RetryRequest{}); err == nil {
		t.Fatal("retry without a target succeeded")
	}
}

func TestReportRowsAndBounds(t *testing.T) {
	svc, _ := newService(t)
	var buf bytes.Buffer
	err := svc.Report(context.Background(), &buf, ReportQuery{
		Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0][0] != "id" || rows[1][2] != "done.pdf" || rows[2][2] != "held.pdf" {
		t.Fatalf("rows %v", rows)
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	if rows[1][col["file_key"]] != "default/teams/abc/done.pdf" || rows[1][col["state"]] != "posted" ||
		rows[1][col["forwarded"]] != "talkdesk=held" || rows[2][col["reason"]] == "" {
		t.Fatalf("row contents %v / %v", rows[1], rows[2])
	}
	buf.Reset()
	if err := svc.Report(context.Background(), &buf, ReportQuery{Format: "json"}); err != nil {
		t.Fatalf("json report: %v\n%s", err, buf.String())
	}
	var objs []ReportRow
	if err := json.Unmarshal(buf.Bytes(), &objs); err != nil || len(objs) != 4 || objs[0].FileKey != "default/teams/abc/done.pdf" ||
		objs[0].Forwarded["talkdesk"] != "held" || objs[0].Size == 0 || objs[0].DiscoveredAt.IsZero() {
		t.Fatalf("json report %v:\n%s", err, buf.String())
	}
	buf.Reset()
	if err := svc.Report(context.Background(), &buf, ReportQuery{Format: "json", Since: time.Now().Add(time.Hour)}); err != nil || buf.String() != "[]\n" {
		t.Fatalf("an empty json report: %v %q", err, buf.String())
	}
	if err := svc.Report(context.Background(), &buf, ReportQuery{Format: "xml"}); err == nil {
		t.Fatal("xml accepted")
	}
}

func TestClientOverTheSocketMatchesTheService(t *testing.T) {
	svc, _ := newService(t)
	sock := filepath.Join(t.TempDir(), "control.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, sock, svc, nil) }()
	var c *Client
	testwait.For(t, 5*time.Second, "the socket to answer", func() bool {
		var err error
		c, err = Dial(sock, 10*time.Second)
		return err == nil
	})
	st, err := c.Status(ctx)
	if err != nil || st.Counts[journal.Held] != 1 || st.Counts[journal.Posted] != 1 || len(st.Watches) != 2 || st.OldestPending == nil {
		t.Fatalf("status over the socket: %+v, %v", st, err)
	}
	items, err := c.Queue(ctx, Filter{State: journal.Held})
	if err != nil || len(items) != 1 {
		t.Fatalf("queue over the socket: %v, %v", items, err)
	}
	if _, err := c.Reconcile(ctx, false); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Fatalf("reconcile without a pipeline: %v", err)
	}
	// A second daemon must not take over a socket another one answers on.
	if err := Serve(ctx, sock, svc, nil); err == nil || !strings.Contains(err.Error(), "another archivist") {
		t.Fatalf("second Serve on a live socket: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestStatusCountsQuarantinedRecords(t *testing.T) {
	svc, _ := newService(t)
	st, err := svc.Status(context.Background())
	if err != nil || st.Quarantined != 0 {
		t.Fatalf("status before: %+v, %v", st, err)
	}
	if _, err := svc.J.Quarantine(999, journal.ErrNotFound, time.Now()); err != nil {
		t.Fatal(err)
	}
	if st, err = svc.Status(context.Background()); err != nil || st.Quarantined != 1 {
		t.Fatalf("status after a quarantine: quarantined %d, %v", st.Quarantined, err)
	}
}
