package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/archivist-project/archivist/archive/globalrelay"
	"github.com/archivist-project/archivist/archive/sandbox"
	"github.com/archivist-project/archivist/archive/transcript"
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher"
)

func transcriptsMode(wait, unreferenced time.Duration) harnessOpt {
	return func(po *Options, _ *sandbox.Options) {
		po.Watches[0].Mode = ModeTranscripts
		po.Watches[0].AttachmentWait = wait
		po.Watches[0].UnreferencedAfter = unreferenced
	}
}

const exampleTranscript = `{"version":1,
 "conversation":{"id":"c-1","title":"Q3 review","createdAt":"2023-05-24T10:00:00Z"},
 "participants":[{"id":"jordan","displayName":"Jordan Davies","email":"jordan.davies@greenvaultcapital.com"},
                 {"id":"lisa","displayName":"Lisa Holmes","email":"lisa.holmes@greenvaultcapital.com"}],
 "events":[
  {"id":"m1","time":"2023-05-24T10:05:18Z","type":"message","from":"jordan","text":"see attached"},
  {"id":"f1","time":"2023-05-24T10:05:20Z","type":"file","from":"jordan","to":["lisa"],
   "files":[{"path":"attachments/Q3-report-2023.pdf"}],"text":"take a look","systemText":"User shared a file."},
  {"id":"f2","time":"2023-05-24T10:06:00Z","type":"file","from":"lisa",
   "files":[{"href":"https://files.example.com/big.zip","name":"big.zip"}]}%s]}`

// dropAll writes files and hands them to Intake together, as one settled batch.
func (h *harness) dropAll(files map[string][]byte) {
	h.t.Helper()
	var settled []watcher.File
	for rel, content := range files {
		p := filepath.Join(h.root, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, content, 0o644); err != nil {
			h.t.Fatal(err)
		}
		settled = append(settled, h.stat(rel))
	}
	if err := h.p.Intake(h.ctx, settled); err != nil {
		h.t.Fatal(err)
	}
}

// conversations decodes every accepted request.
func (h *harness) conversations() []globalrelay.Conversation {
	var out []globalrelay.Conversation
	for _, c := range h.sb.Conversations() {
		var conv globalrelay.Conversation
		if err := json.Unmarshal(c.Raw, &conv); err != nil {
			h.t.Fatal(err)
		}
		out = append(out, conv)
	}
	return out
}

func TestTranscriptBecomesAConversation(t *testing.T) {
	h := newHarness(t, transcriptsMode(time.Minute, time.Hour))
	h.start(nil)
	imageEvent := `,
  {"id":"f3","time":"2023-05-24T10:07:00Z","type":"file","from":"lisa","files":[{"path":"attachments/chart.png"}]}`
	// The transcript settles before its attachments: it must wait for them.
	h.dropAll(map[string][]byte{"exports/c1/c1.transcript.json": []byte(fmt.Sprintf(exampleTranscript, imageEvent))})
	h.dropAll(map[string][]byte{"exports/c1/attachments/Q3-report-2023.pdf": pdf, "exports/c1/attachments/chart.png": png})

	tr := h.awaitState(h.record("exports/c1/c1.transcript.json").ID, journal.Posted)
	pdfRec := h.awaitState(h.record("exports/c1/attachments/Q3-report-2023.pdf").ID, journal.Posted)
	pngRec := h.awaitState(h.record("exports/c1/attachments/chart.png").ID, journal.Posted)
	if tr.EventsPosted != 4 || tr.Conversation != "c-1" {
		t.Errorf("transcript record: %d events posted, conversation %q", tr.EventsPosted, tr.Conversation)
	}
	if pdfRec.ReferencedBy != tr.ID {
		t.Errorf("attachment not linked to its transcript: %+v", pdfRec)
	}
	convs := h.conversations()
	if len(convs) != 1 {
		t.Fatalf("%d requests, want 1", len(convs))
	}
	c := convs[0]
	if c.Overview.ConversationType != testType || c.Overview.CreatedAt != time.Date(2023, 5, 24, 10, 0, 0, 0, time.UTC).UnixMilli() ||
		len(c.Overview.InitialParticipants) != 2 || c.Overview.InitiatorEmail != "jordan.davies@greenvaultcapital.com" {
		t.Errorf("overview %+v", c.Overview)
	}
	if len(c.Events) != 4 {
		t.Fatalf("%d events, want 4", len(c.Events))
	}
	m1, f1, f2, f3 := c.Events[0], c.Events[1], c.Events[2], c.Events[3]
	if m1.EventType != "Message" || m1.Content == nil || m1.Content.Message != "see attached" ||
		m1.EventTime != time.Date(2023, 5, 24, 10, 5, 18, 0, time.UTC).UnixMilli() ||
		len(m1.Participants) != 1 || m1.Participants[0].UserType != "initiator" || m1.Participants[0].DisplayName != "Jordan Davies" {
		t.Errorf("message event %+v", m1)
	}
	if f1.EventType != "File_transfer" || f1.SystemText != "User shared a file." || f1.Content == nil || f1.Content.Message != "take a look" ||
		len(f1.Participants) != 2 || f1.Participants[1].UserType != "recipient" || f1.Participants[1].CorporateEmail != "lisa.holmes@greenvaultcapital.com" ||
		len(f1.Files) != 1 || f1.Files[0].FileKey != pdfRec.FileKey || f1.Files[0].Filename != "Q3-report-2023.pdf" || f1.Files[0].IsInlined {
		t.Errorf("file event %+v", f1)
	}
	if len(f2.Files) != 1 || f2.Files[0].FileHref != "https://files.example.com/big.zip" || f2.Files[0].Filename != "big.zip" ||
		!strings.HasPrefix(f2.Files[0].FileKey, "default/teams/external/") || len(f2.Participants) != 1 {
		t.Errorf("href event %+v", f2)
	}
	if len(f3.Files) != 1 || !f3.Files[0].IsInlined || f3.Files[0].FileKey != pngRec.FileKey {
		t.Errorf("image event %+v", f3)
	}

	// The same transcript again (touched): nothing new is sent.
	later := time.Now().Add(time.Minute)
	os.Chtimes(filepath.Join(h.root, "exports/c1/c1.transcript.json"), later, later)
	if err := h.p.Intake(h.ctx, []watcher.File{h.stat("exports/c1/c1.transcript.json")}); err != nil {
		t.Fatal(err)
	}
	again := h.awaitState(h.record("exports/c1/c1.transcript.json").ID, journal.Posted)
	if again.ID == tr.ID || !strings.Contains(again.Reason, "nothing new") {
		t.Fatalf("dropped again: %+v", again)
	}

	// Re-exported with one more event: only that event is sent.
	more := `,
  {"id":"f3","time":"2023-05-24T10:07:00Z","type":"file","from":"lisa","files":[{"path":"attachments/chart.png"}]},
  {"id":"m2","time":"2023-05-24T10:08:00Z","type":"message","from":"lisa","text":"thanks"}`
	h.dropAll(map[string][]byte{"exports/c1/c1.transcript.json": []byte(fmt.Sprintf(exampleTranscript, more))})
	h.awaitState(h.record("exports/c1/c1.transcript.json").ID, journal.Posted)
	convs = h.conversations()
	if len(convs) != 2 || len(convs[1].Events) != 1 || convs[1].Events[0].Content.Message != "thanks" {
		t.Fatalf("re-export sent %d requests, last %+v", len(convs), convs[len(convs)-1].Events)
	}
}

func TestTranscriptChunksAreCommittedOnce(t *testing.T) {
	h := newHarness(t, transcriptsMode(time.Minute, time.Hour), func(po *Options, _ *sandbox.Options) { po.MaxEventsPerRequest = 2 })
	h.start(nil)
	var events []string
	for i := range 5 {
		events = append(events, fmt.Sprintf(`{"id":"m%d","time":%d,"type":"message","from":"a","text":"msg %d"}`, i, 1700000000000+int64(i)*1000, i))
	}
	tr := fmt.Sprintf(`{"version":1,"conversation":{"id":"big"},"participants":[{"id":"a","displayName":"A"}],"events":[%s]}`, strings.Join(events, ","))
	h.dropAll(map[string][]byte{"big.transcript.json": []byte(tr)})
	r := h.awaitState(h.record("big.transcript.json").ID, journal.Posted)
	convs := h.conversations()
	if len(convs) != 3 || len(convs[0].Events) != 2 || len(convs[2].Events) != 1 {
		t.Fatalf("%d requests for 5 events at 2 per request", len(convs))
	}
	state, _ := h.j.Conversation("teams", "big")
	if len(state.Sent) != 5 || len(state.Requests) != 3 {
		t.Fatalf("journal conversation %+v", state)
	}
	if r.EventsPosted != 5 {
		t.Fatalf("events posted %d", r.EventsPosted)
	}
}

func TestBadTranscriptsAreHeldWithFileAndPath(t *testing.T) {
	h := newHarness(t, transcriptsMode(300*time.Millisecond, time.Hour))
	h.start(nil)
	outside := filepath.Join(t.TempDir(), "secret.pdf")
	os.WriteFile(outside, []byte("%PDF secret outside the watch"), 0o644)
	os.MkdirAll(filepath.Join(h.root, "x"), 0o755)
	os.Symlink(outside, filepath.Join(h.root, "x/linked.pdf"))
	if err := h.p.Intake(h.ctx, []watcher.File{h.stat("x/linked.pdf")}); err != nil {
		t.Fatal(err)
	}
	one := func(file string) string {
		return fmt.Sprintf(`{"version":1,"conversation":{"id":"c"},"participants":[{"id":"a","displayName":"A"}],
		"events":[{"id":"e","time":"2023-05-24T10:05:18Z","type":"file","from":"a","files":[{"path":%q}]}]}`, file)
	}
	h.dropAll(map[string][]byte{
		"x/climb.transcript.json":   []byte(one("../../etc/passwd")),
		"x/link.transcript.json":    []byte(one("linked.pdf")),
		"x/missing.transcript.json": []byte(one("nope.pdf")),
		"x/broken.transcript.json":  []byte(`{"version":1,"conversation":`),
		"x/who.transcript.json":     []byte(strings.Replace(one("nope.pdf"), `"from":"a"`, `"from":"stranger"`, 1)),
	})
	want := map[string][]string{
		"x/climb.transcript.json":   {"x/climb.transcript.json", "$.events[0].files[0].path", "climbs out"},
		"x/link.transcript.json":    {"x/link.transcript.json", "$.events[0].files[0]", "symbolic link"},
		"x/missing.transcript.json": {"x/missing.transcript.json", "missing: x/nope.pdf ($.events[0].files[0])"},
		"x/broken.transcript.json":  {"x/broken.transcript.json"},
		"x/who.transcript.json":     {"x/who.transcript.json", "$.events[0].from", "stranger"},
	}
	for rel, parts := range want {
		r := h.awaitState(h.record(rel).ID, journal.Held)
		for _, part := range parts {
			if !strings.Contains(r.Reason, part) {
				t.Errorf("%s: reason %q does not contain %q", rel, r.Reason, part)
			}
		}
	}
	for _, f := range h.sb.Files() {
		b, _ := os.ReadFile(h.sb.FilePath(f.Key))
		if strings.Contains(string(b), "secret outside") {
			t.Fatal("a file outside the watch left the machine")
		}
	}
	if h.sb.Stats().Posts != 0 {
		t.Fatal("events of a held transcript were posted")
	}
}

func TestUnreferencedFileIsArchivedAsLooseFile(t *testing.T) {
	h := newHarness(t, transcriptsMode(time.Minute, 150*time.Millisecond))
	h.start(nil)
	h.drop("stray/orphan.pdf", pdf)
	r := h.awaitState(h.record("stray/orphan.pdf").ID, journal.Posted)
	if !strings.Contains(r.Reason, "no transcript referenced it") {
		t.Fatalf("reason %q", r.Reason)
	}
	evs := h.events()
	if len(evs) != 1 || evs[0].Files[0].FileKey != r.FileKey {
		t.Fatalf("loose events %+v", evs)
	}
}

// genesysLog is a Genesys message log without chatPath, so its conversation id is its path.
// Each message is {nickname, text}; withIndex numbers them with "index" (Genesys' own id),
// otherwise their ids are only their positions.
func genesysLog(withIndex bool, day int, msgs ...[2]string) []byte {
	var out []string
	for i, m := range msgs {
		idx := ""
		if withIndex {
			idx = fmt.Sprintf(`"index":%d,`, i)
		}
		out = append(out, fmt.Sprintf(`{"from":{"nickname":%q,"type":"Client"},%s"timestampSeconds":%d,"text":%q}`,
			m[0], idx, time.Date(2026, 11, 30+day, 9, i, 0, 0, time.UTC).UnixMilli(), m[1]))
	}
	return []byte(`{"messages":[` + strings.Join(out, ",") + `]}`)
}

// texts lists the text and systemText of every event of requests convs.
func texts(convs []globalrelay.Conversation) (msgs, systems []string) {
	for _, c := range convs {
		for _, e := range c.Events {
			if e.Content != nil {
				msgs = append(msgs, e.Content.Message)
			}
			systems = append(systems, e.SystemText)
		}
	}
	return msgs, systems
}

// A Genesys log without chatPath is identified by its path and its events by their index:
// Tuesday's chat written to the same file name as Monday's has the same conversation id and
// event ids. Its events are new content and must be archived (it used to end "nothing new"),
// each saying it replaces the earlier event; Monday's log dropped again is nothing new.
func TestChangedEventsUnderTheSameIDsAreSentAgain(t *testing.T) {
	h := newHarness(t, transcriptsMode(time.Minute, time.Hour))
	h.start(nil)
	const rel = "genesys/chat.genesys.json"
	monday := genesysLog(true, 0, [2]string{"Kim", "buy 1000 at 10.00"}, [2]string{"Kim", "confirm"}, [2]string{"Kim", "thanks"})
	tuesday := genesysLog(true, 1, [2]string{"Kim", "sell 9000 at 99.99"}, [2]string{"Kim", "confirm"}, [2]string{"Kim", "bye"})

	h.dropAll(map[string][]byte{rel: monday})
	h.awaitState(h.record(rel).ID, journal.Posted)
	h.dropAll(map[string][]byte{rel: tuesday})
	tue := h.awaitState(h.record(rel).ID, journal.Posted)
	if strings.Contains(tue.Reason, "nothing new") {
		t.Fatalf("Tuesday's chat was skipped: %s", tue.Reason)
	}
	convs := h.conversations()
	if len(convs) != 2 {
		t.Fatalf("%d requests, want 2 (Monday's, then Tuesday's)", len(convs))
	}
	msgs, systems := texts(convs[1:])
	if want := []string{"sell 9000 at 99.99", "confirm", "bye"}; !slices.Equal(msgs, want) {
		t.Errorf("Tuesday sent %q, want %q", msgs, want)
	}
	for i, s := range systems {
		if !strings.Contains(s, fmt.Sprintf("Replaces the earlier archived version of event %d", i)) {
			t.Errorf("event %d: systemText %q does not say what it replaces", i, s)
		}
	}

	// Monday's log again: every event is archived with exactly this content.
	h.dropAll(map[string][]byte{rel: monday})
	again := h.awaitState(h.record(rel).ID, journal.Posted)
	if !strings.Contains(again.Reason, "nothing new") || len(h.conversations()) != 2 {
		t.Fatalf("an identical export was sent again: %q, %d requests", again.Reason, len(h.conversations()))
	}
}

// Without index or id a Genesys message's id is its position: no identity. An export that
// starts later (the first message scrolled out) is matched by content: only the really new
// message goes out, and nothing claims to replace anything.
func TestPositionalIDsAreNotIdentities(t *testing.T) {
	h := newHarness(t, transcriptsMode(time.Minute, time.Hour))
	h.start(nil)
	const rel = "genesys/rolling.genesys.json"
	a, b, c, d := [2]string{"Kim", "a"}, [2]string{"Kim", "b"}, [2]string{"Kim", "c"}, [2]string{"Kim", "d"}
	first := genesysLog(false, 0, a, b, c)
	// The same messages at the same times, shifted by one position.
	var later map[string]any
	json.Unmarshal(genesysLog(false, 0, a, b, c, d), &later)
	later["messages"] = later["messages"].([]any)[1:]
	shifted, _ := json.Marshal(later)

	h.dropAll(map[string][]byte{rel: first})
	h.awaitState(h.record(rel).ID, journal.Posted)
	h.dropAll(map[string][]byte{rel: shifted})
	h.awaitState(h.record(rel).ID, journal.Posted)
	convs := h.conversations()
	msgs, systems := texts(convs[1:])
	if !slices.Equal(msgs, []string{"d"}) || systems[0] != "" {
		t.Fatalf("shifted export sent %q (systemText %q), want only \"d\" with no replacement note", msgs, systems)
	}
}

// keyEvents counts the File_transfer events of every accepted request that reference key.
func (h *harness) keyEvents(key string) int {
	n := 0
	for _, e := range h.events() {
		for _, f := range e.Files {
			if f.FileKey == key {
				n++
			}
		}
	}
	return n
}

// An attachment that arrives after attachment_wait belongs to the held transcript that
// references it: it must not be archived as a loose file "no transcript referenced it"
// (and then get a second event when the transcript is retried). The transcript goes on by
// itself once the last file it was held for arrives, and each attachment gets one event.
func TestLateAttachmentBelongsToItsHeldTranscript(t *testing.T) {
	h := newHarness(t, transcriptsMode(100*time.Millisecond, 200*time.Millisecond))
	h.start(nil)
	two := `,
  {"id":"f3","time":"2023-05-24T10:07:00Z","type":"file","from":"lisa","files":[{"path":"attachments/chart.png"}]}`
	h.dropAll(map[string][]byte{"exports/c1/c1.transcript.json": []byte(fmt.Sprintf(exampleTranscript, two))})
	tr := h.awaitState(h.record("exports/c1/c1.transcript.json").ID, journal.Held)
	if !strings.Contains(tr.Reason, "missing: exports/c1/attachments/Q3-report-2023.pdf") {
		t.Fatalf("held for %q", tr.Reason)
	}

	// One of its two files arrives late; it waits with the transcript, past unreferenced_after.
	h.dropAll(map[string][]byte{"exports/c1/attachments/Q3-report-2023.pdf": pdf})
	pdfID := h.record("exports/c1/attachments/Q3-report-2023.pdf").ID
	var a *journal.Record
	await(t, "the late attachment to pass unreferenced_after", func() bool {
		a, _ = h.j.Get(pdfID)
		return a != nil && (strings.Contains(a.LastError, fmt.Sprintf("referenced by transcript #%d", tr.ID)) || a.State == journal.Posted)
	})
	if a.State != journal.Uploaded || strings.Contains(a.Reason, "no transcript referenced it") || len(h.events()) != 0 {
		t.Fatalf("late attachment archived as a loose file: %s %q, %d events", a.State, a.Reason, len(h.events()))
	}

	// The operator retries before the other file is there: held again, still nothing loose.
	if ok, err := h.j.Release(tr.ID, "operator", time.Now()); err != nil || !ok {
		t.Fatalf("retry: %v %v", ok, err)
	}
	h.p.Wake()
	h.awaitState(tr.ID, journal.Held)

	// The last file arrives: the transcript is released and posted, each file once.
	h.dropAll(map[string][]byte{"exports/c1/attachments/chart.png": png})
	done := h.awaitState(tr.ID, journal.Posted)
	pdfRec := h.awaitState(pdfID, journal.Posted)
	pngRec := h.awaitState(h.record("exports/c1/attachments/chart.png").ID, journal.Posted)
	if done.EventsPosted != 4 || pdfRec.ReferencedBy != tr.ID || pngRec.ReferencedBy != tr.ID || pdfRec.Reason != "" || pdfRec.LastError != "" {
		t.Fatalf("transcript %d events; pdf %+v", done.EventsPosted, pdfRec)
	}
	if n, m := h.keyEvents(pdfRec.FileKey), h.keyEvents(pngRec.FileKey); n != 1 || m != 1 {
		t.Fatalf("attachments referenced by %d and %d events, want 1 each", n, m)
	}
	if len(h.conversations()) != 1 {
		t.Fatalf("%d requests, want the transcript's one", len(h.conversations()))
	}
}

// bigTranscript is a native transcript of n messages whose last event shares a file that is
// not there.
func bigTranscript(id string, n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"version":1,"conversation":{"id":%q},"participants":[{"id":"a","displayName":"A"}],"events":[`, id)
	for i := range n {
		fmt.Fprintf(&b, `{"id":"m%d","time":%d,"type":"message","from":"a","text":"message number %d of a long chat"},`, i, 1700000000000+int64(i), i)
	}
	b.WriteString(`{"id":"f","time":1800000000000,"type":"file","from":"a","files":[{"path":"later.pdf"}]}]}`)
	return []byte(b.String())
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// Transcripts waiting for their attachments are not kept parsed in memory (30 of them took
// the daemon to 930 MB): what they wait for is in the journal, and they are read again when it
// arrives or the wait is over.
func TestWaitingTranscriptsAreNotKeptInMemory(t *testing.T) {
	const n, msgs = 12, 8000
	// What one parsed copy costs.
	before := heapInUse()
	one, err := transcript.Native{}.Parse("x/one.transcript.json", bigTranscript("one", msgs))
	if err != nil {
		t.Fatal(err)
	}
	parsed := int64(heapInUse()) - int64(before)
	runtime.KeepAlive(one)
	if parsed < 1<<20 {
		t.Fatalf("a parsed transcript takes only %d bytes; make the test's transcripts larger", parsed)
	}

	h := newHarness(t, transcriptsMode(time.Hour, time.Hour))
	h.start(nil)
	base := heapInUse()
	files := map[string][]byte{}
	for i := range n {
		files[fmt.Sprintf("c%d/c.transcript.json", i)] = bigTranscript(fmt.Sprintf("c%d", i), msgs)
	}
	h.dropAll(files)
	for rel := range files {
		id := h.record(rel).ID
		await(t, rel+" to wait for its attachment", func() bool {
			r, err := h.j.Get(id)
			return err == nil && strings.HasPrefix(r.LastError, "waiting for attachments")
		})
	}
	clear(files)
	grown := int64(heapInUse()) - int64(base)
	t.Logf("one parsed transcript: %d KiB; heap grew %d KiB with %d waiting", parsed>>10, grown>>10, n)
	if grown > int64(n)*parsed/4 {
		t.Fatalf("heap grew by %d KiB with %d transcripts waiting: parsed copies are kept (%d KiB each)", grown>>10, n, parsed>>10)
	}
	// The journal knows what each waits for.
	for i := range n {
		_, missing, err := h.j.Claimed(h.record(fmt.Sprintf("c%d/c.transcript.json", i)).ID)
		if err != nil || !slices.Equal(missing, []string{fmt.Sprintf("c%d/later.pdf", i)}) {
			t.Fatalf("c%d waits for %q (%v)", i, missing, err)
		}
	}
}

// A journal from before event digests holds a conversation's event ids only. Its ids match
// only the very transcript bytes that posted them (dropped again: nothing new); any other
// content under them is sent again, marked as replacing the earlier version.
func TestLegacyLedgerWithoutDigests(t *testing.T) {
	const rel = "genesys/chat.genesys.json"
	monday := genesysLog(true, 0, [2]string{"Kim", "buy 1000 at 10.00"}, [2]string{"Kim", "thanks"})
	tuesday := genesysLog(true, 1, [2]string{"Kim", "sell 9000 at 99.99"}, [2]string{"Kim", "thanks"})
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := journal.Open(path, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(monday)
	old, err := j.Insert([]*journal.Record{{Watch: "teams", Path: rel, Kind: "file", Size: int64(len(monday)), State: journal.Posted,
		Role: journal.RoleTranscript, SHA256: hex.EncodeToString(sum[:]), DiscoveredAt: time.Now()}}, []journal.Entry{{Step: "discovered", Result: "ok"}})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("conversations")).Put([]byte("teams\x00"+rel),
			fmt.Appendf(nil, `{"watch":"teams","id":%q,"posted":{"0":true,"1":true},"requests":[{"time":"2026-11-30T09:00:00Z","events":2,"transcript":%d}]}`, rel, old[0].ID))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	h := newHarnessAt(t, path, transcriptsMode(time.Minute, time.Hour))
	h.start(nil)
	h.dropAll(map[string][]byte{rel: monday})
	if r := h.awaitState(h.record(rel).ID, journal.Posted); !strings.Contains(r.Reason, "nothing new") || len(h.conversations()) != 0 {
		t.Fatalf("the same bytes again: %q, %d requests", r.Reason, len(h.conversations()))
	}
	h.dropAll(map[string][]byte{rel: tuesday})
	h.awaitState(h.record(rel).ID, journal.Posted)
	msgs, systems := texts(h.conversations())
	if !slices.Equal(msgs, []string{"sell 9000 at 99.99", "thanks"}) || !strings.Contains(systems[0], "Replaces") || !strings.Contains(systems[1], "Replaces") {
		t.Fatalf("other bytes under legacy ids sent %q (systemText %q)", msgs, systems)
	}
}
