package statuspage_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/archivist-project/archivist/cmd/archivist/control"
	"github.com/archivist-project/archivist/cmd/archivist/evidence"
	"github.com/archivist-project/archivist/cmd/archivist/statuspage"
	"github.com/archivist-project/archivist/journal"
)

// now is the page's clock in the tests: 2026-03-10 15:30 UTC.
var now = time.Date(2026, 3, 10, 15, 30, 0, 0, time.UTC)

type fixture struct {
	t       *testing.T
	db      *journal.DB
	path    string
	srv     *httptest.Server
	archive *journal.Record // the archived file of the fixture
	held    *journal.Record
	reports string // daily_report.folder, with the report of 2026-03-09
}

// newFixture is a real journal with an archived file (with its history), a duplicate, a held
// symlink, a file in progress and a file archived on another day, and a page over it.
func newFixture(t *testing.T, auth statuspage.Authenticator) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal.db")
	db, err := journal.Open(path, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{t: t, db: db, path: path}
	at := func(h, m int) time.Time { return time.Date(2026, 3, 10, h, m, 0, 0, time.UTC) }
	sum := fmt.Sprintf("%x", sha256.Sum256([]byte("1000 shares at 10.00")))
	f.archive = f.insert(&journal.Record{Watch: "trades", Path: "2026/03/confirmation-0001.pdf", Kind: "file", Size: 20,
		SHA256: sum, MIME: "application/pdf", FileKey: "default/trades/" + sum + "/confirmation-0001.pdf", State: journal.Posted,
		RequestID: "req-7f3a", DiscoveredAt: at(9, 0), UploadedAt: at(9, 1), PostedAt: at(9, 2),
		Forwards: map[string]*journal.Forward{"service-cloud": {State: journal.ForwardSent, RemoteID: "0Mx001", SentAt: at(9, 3)}}},
		journal.Entry{Time: at(9, 0), Step: "discovered", Result: "ok"},
		journal.Entry{Time: at(9, 1), Step: "put", Lane: journal.LanePut, Result: "ok", Status: 200, FileKey: "default/trades/" + sum + "/confirmation-0001.pdf"},
		journal.Entry{Time: at(9, 2), Step: "post", Lane: journal.LanePost, Result: "ok", Status: 200, RequestID: "req-7f3a"})
	f.insert(&journal.Record{Watch: "trades", Path: "copy/confirmation-0001.pdf", Kind: "file", Size: 20, SHA256: sum,
		FileKey: f.archive.FileKey, State: journal.Posted, DuplicateOf: f.archive.ID, DiscoveredAt: at(10, 0), PostedAt: at(10, 0)},
		journal.Entry{Time: at(10, 0), Step: "discovered", Result: "ok"})
	f.held = f.insert(&journal.Record{Watch: "trades", Path: "latest.pdf", Kind: "symlink", State: journal.Held,
		Reason: "a symlink: archivist never follows links", DiscoveredAt: at(11, 0), HeldAt: at(11, 0)},
		journal.Entry{Time: at(11, 0), Step: "hold", Result: "error", Detail: "a symlink"})
	f.insert(&journal.Record{Watch: "trades", Path: "incoming/big.zip", Kind: "file", Size: 5 << 20, State: journal.Discovered,
		DiscoveredAt: at(14, 0), Lanes: map[string]time.Time{journal.LanePut: at(14, 0)}},
		journal.Entry{Time: at(14, 0), Step: "discovered", Result: "ok"})
	f.insert(&journal.Record{Watch: "trades", Path: "old.pdf", Kind: "file", Size: 7, SHA256: strings.Repeat("ab", 32), State: journal.Posted,
		DiscoveredAt: at(9, 0).AddDate(0, 0, -3), PostedAt: at(9, 5).AddDate(0, 0, -3)},
		journal.Entry{Time: at(9, 0).AddDate(0, 0, -3), Step: "discovered", Result: "ok"})
	svc := &control.Service{J: db}
	f.reports = t.TempDir()
	rep := &evidence.DailyReport{Day: "2026-03-09", Timezone: "UTC", From: at(0, 0).AddDate(0, 0, -1), To: at(0, 0), Generated: at(0, 15),
		Total: evidence.Counts{Discovered: 1, Archived: 1}, Watches: map[string]*evidence.Counts{"trades": {Discovered: 1, Archived: 1}}}
	rep.Reconciliation.OnDisk, rep.Reconciliation.Unexplained, rep.Reconciliation.Examples = 5, 1, []string{"trades:lost.pdf"}
	rep.UnresolvedParticipants = 3
	if _, err := evidence.WriteDaily(f.reports, rep, nil); err != nil {
		t.Fatal(err)
	}
	page := statuspage.New(statuspage.Options{Source: svc, Records: db, Location: time.UTC, Auth: auth, Now: func() time.Time { return now },
		ReportsDir: f.reports})
	f.srv = httptest.NewServer(page)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) insert(r *journal.Record, trail ...journal.Entry) *journal.Record {
	f.t.Helper()
	r.UpdatedAt = r.DiscoveredAt
	stored, err := f.db.Insert([]*journal.Record{r}, trail[:1])
	if err != nil {
		f.t.Fatal(err)
	}
	rec := stored[0]
	if len(trail) > 1 {
		if err := f.db.Update(rec.ID, func(r *journal.Record) ([]journal.Entry, error) { return trail[1:], nil }); err != nil {
			f.t.Fatal(err)
		}
	}
	return rec
}

func (f *fixture) get(path string) (int, http.Header, string) {
	f.t.Helper()
	resp, err := http.Get(f.srv.URL + path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func (f *fixture) page(path string, wants ...string) string {
	f.t.Helper()
	status, h, body := f.get(path)
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		f.t.Fatalf("GET %s: %d %s\n%s", path, status, h.Get("Content-Type"), body)
	}
	for _, w := range wants {
		if !strings.Contains(body, w) {
			f.t.Errorf("GET %s: no %q in\n%s", path, w, body)
		}
	}
	return body
}

func TestOverviewCountsTheDay(t *testing.T) {
	f := newFixture(t, nil)
	body := f.page("/", "<h1>Archive status</h1>", "on 2026-03-10", "The daemon is not running", "No reconciliation has run yet",
		"<dt>Discovered</dt><dd>4</dd>", "<dt>Archived</dt><dd>2</dd>", "<dt>of which duplicates</dt><dd>1</dd>",
		"<dt>Held</dt><dd>1</dd>", "<dt>Pending</dt><dd>1</dd>", "service-cloud", "<svg", "Archived files and bytes per hour",
		`href="/report.csv?from=2026-03-10&amp;to=2026-03-10"`)
	if strings.Contains(body, "<script") {
		t.Error("the page has a script")
	}
	// Three days: the old file counts too.
	f.page("/?from=2026-03-07&to=2026-03-10", "from 2026-03-07 to 2026-03-10", "<dt>Discovered</dt><dd>5</dd>", "<dt>Archived</dt><dd>3</dd>")
	f.page("/?from=2026-03-10&to=2026-03-01", "the period ends before it starts")
	f.page("/?from=yesterday", "want a date such as")
}

func TestUnexplainedIsLoud(t *testing.T) {
	f := newFixture(t, nil)
	sum, err := json.Marshal(map[string]any{"time": now, "onDisk": 6, "archived": 3, "unexplained": 2, "examples": []string{"trades:lost.pdf", "trades:x.pdf"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetMeta("reconcile/last", string(sum)); err != nil {
		t.Fatal(err)
	}
	f.page("/", `class="alarm" role="alert">2 file(s) on disk are NOT accounted for`, "trades:lost.pdf")
}

func TestUnresolvedParticipantsAreCountedWithTheCommandToListThem(t *testing.T) {
	f := newFixture(t, nil)
	f.page("/", "Unresolved participants", "Every chat participant was archived under an address of their own")
	err := f.db.NoteUnresolved([]journal.Unresolved{{Source: "slack", ID: "U1", Watch: "trades"}, {Source: "teams", ID: "x", Watch: "trades"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	f.page("/", "2 chat participant(s) were archived under a fallback address", "archivist identities unresolved --csv")
}

func TestSearchFindsAFileAndItsHistory(t *testing.T) {
	f := newFixture(t, nil)
	link := fmt.Sprintf(`<a href="/file/%d">`, f.archive.ID)
	for _, q := range []string{"confirmation-0001", "CONFIRMATION-0001.PDF", f.archive.SHA256, f.archive.FileKey, "trades:2026/03"} {
		f.page("/search?q="+urlQuery(q), link)
	}
	f.page("/search?q=nothing-like-this", "No file matches")
	f.page(fmt.Sprintf("/file/%d", f.archive.ID), "confirmation-0001.pdf", f.archive.SHA256, "req-7f3a", "<td>put (put)</td><td>ok</td><td class=\"num\">200</td>",
		"service-cloud", "0Mx001", "Event accepted")
	if status, _, _ := f.get("/file/999999"); status != 404 {
		t.Errorf("unknown file: %d", status)
	}
}

func urlQuery(s string) string {
	return strings.NewReplacer("%", "%25", "&", "%26", "+", "%2B", " ", "+", "#", "%23").Replace(s)
}

func TestHeldSaysWhatToDo(t *testing.T) {
	f := newFixture(t, nil)
	f.page("/held", "latest.pdf", "a symlink: archivist never follows links", "put the file itself in the folder")
}

func TestReportDownloads(t *testing.T) {
	f := newFixture(t, nil)
	status, h, body := f.get("/report.csv?from=2026-03-10&to=2026-03-10")
	if status != 200 || h.Get("Content-Disposition") != `attachment; filename="custody-2026-03-10-to-2026-03-10.csv"` {
		t.Fatalf("csv: %d %v", status, h)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 5 { // header + the 4 files discovered that day
		t.Fatalf("csv rows %d, %v:\n%s", len(rows), err, body)
	}
	status, _, body = f.get("/report.json?from=2026-03-07&to=2026-03-10")
	if status != 200 || !strings.Contains(body, "old.pdf") {
		t.Fatalf("json: %d %s", status, body)
	}
	var objs []map[string]any
	if err := json.Unmarshal([]byte(body), &objs); err != nil || len(objs) != 5 {
		t.Errorf("json report: %d rows, %v", len(objs), err)
	}
}

// Nothing on the page changes the journal: other methods are refused, and the journal file
// is byte for byte the same after every page was viewed.
func TestReadOnly(t *testing.T) {
	f := newFixture(t, nil)
	before := fileSum(t, f.path)
	for _, p := range []string{"/", "/held", "/search?q=pdf", fmt.Sprintf("/file/%d", f.held.ID), "/report.csv", "/report.json"} {
		f.get(p)
	}
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		req, _ := http.NewRequest(m, f.srv.URL+"/held", strings.NewReader("retry=1"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: %d", m, resp.StatusCode)
		}
	}
	if after := fileSum(t, f.path); after != before {
		t.Error("viewing the page changed the journal file")
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestUsersFile(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(file, []byte("# officers\nalice:"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	users, err := statuspage.LoadUsers(file)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, users)
	for _, c := range []struct {
		user, pass string
		want       int
	}{{"", "", 401}, {"alice", "wrong", 401}, {"bob", "correct horse", 401}, {"alice", "correct horse", 200}} {
		req, _ := http.NewRequest("GET", f.srv.URL+"/", nil)
		if c.user != "" {
			req.SetBasicAuth(c.user, c.pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s/%s: %d", c.user, c.pass, resp.StatusCode)
		}
		if c.want == 200 && !bytes.Contains(body, []byte("Signed in as alice")) {
			t.Error("the page does not name the user")
		}
	}
	for name, content := range map[string]string{"no hash": "alice:secret\n", "empty": "# nobody\n", "twice": "a:" + string(hash) + "\na:" + string(hash) + "\n"} {
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := statuspage.LoadUsers(file); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

func TestTrustedHeader(t *testing.T) {
	th := &statuspage.TrustedHeader{Header: "X-Remote-User", Proxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	f := newFixture(t, th)
	req, _ := http.NewRequest("GET", f.srv.URL+"/", nil)
	req.Header.Set("X-Remote-User", "carol")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("from the proxy: %d", resp.StatusCode)
	}
	if status, _, _ := f.get("/"); status != 403 {
		t.Errorf("without the header: %d", status)
	}
	other := &statuspage.TrustedHeader{Header: "X-Remote-User", Proxies: []netip.Prefix{netip.MustParsePrefix("10.9.9.9/32")}}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.1:5555"
	r.Header.Set("X-Remote-User", "mallory")
	if _, ok := other.Authenticate(r); ok {
		t.Error("a header from an address that is not the proxy was trusted")
	}
}

func TestExposure(t *testing.T) {
	for addr, refused := range map[string]bool{"127.0.0.1:8788": false, "[::1]:8788": false, "localhost:8788": false,
		"0.0.0.0:8788": true, ":8788": true, "192.0.2.10:8788": true, "archive.example.com:443": true} {
		err := statuspage.CheckExposure(addr, nil)
		if (err != nil) != refused {
			t.Errorf("%s: %v", addr, err)
		}
	}
	if err := statuspage.CheckExposure("0.0.0.0:8788", &statuspage.TrustedHeader{Header: "X-User"}); err != nil {
		t.Errorf("with authentication: %v", err)
	}
}

func TestDailyReports(t *testing.T) {
	f := newFixture(t, nil)
	f.page("/reports", `<a href="/reports/2026-03-09">2026-03-09</a>`, "<td>no</td>")
	f.page("/reports/2026-03-09", "<h1>Reconciliation of 2026-03-09</h1>", "3 chat participant(s) were archived under a fallback address", `class="alarm" role="alert">1 file(s) on disk were NOT accounted for`, "trades:lost.pdf",
		`<td>trades</td><td class="num">1</td><td class="num">1</td>`)
	if status, _, _ := f.get("/reports/2026-03-01"); status != 404 {
		t.Errorf("a missing day: %d", status)
	}
	if status, _, _ := f.get("/reports/..%2f..%2fetc"); status == 200 {
		t.Errorf("a path as a day: %d", status)
	}
}
