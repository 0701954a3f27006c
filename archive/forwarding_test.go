package archive

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/forward"
	"github.com/archivist-project/archivist/archive/genesys"
	"github.com/archivist-project/archivist/archive/salesforce"
	"github.com/archivist-project/archivist/archive/sandbox"
	"github.com/archivist-project/archivist/archive/talkdesk"
	"github.com/archivist-project/archivist/journal"
)

var (
	sfKeyOnce sync.Once
	sfKey     *rsa.PrivateKey
)

func testKey(t *testing.T) *rsa.PrivateKey {
	sfKeyOnce.Do(func() {
		var err error
		if sfKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
	})
	return sfKey
}

// withForwarders rebuilds the harness's pipeline with the three destinations, talkdesk at
// tdBase (the harness's own sandbox if ""), and the watch forwarding to all of them.
func (h *harness) withForwarders(tdBase string, deliveryFailed bool) {
	h.t.Helper()
	if tdBase == "" {
		tdBase = h.url
	}
	sf, err := salesforce.New(salesforce.Options{Name: "service-cloud", URL: h.url, TokenURL: h.url + "/services/oauth2/token",
		ClientID: "consumer", Username: "integration@example.com", PrivateKey: testKey(h.t), Audience: "https://login.salesforce.com",
		OrgID: "00D000000000001", AuthorizationContext: "Partner1_Channel1", ChannelAddress: "channel-1", EndUser: "end-user-1",
		DeliveryFailed: deliveryFailed})
	if err != nil {
		h.t.Fatal(err)
	}
	gn, err := genesys.New(genesys.Options{Name: "genesys", URL: h.url, Username: "u", Password: "p", ChatID: "0001PaBMYY3600R8"})
	if err != nil {
		h.t.Fatal(err)
	}
	td, err := talkdesk.New(talkdesk.Options{Name: "talkdesk", URL: tdBase, TokenURL: tdBase + "/oauth/token", ClientID: "c", ClientSecret: "s"})
	if err != nil {
		h.t.Fatal(err)
	}
	h.po.Forwarders = map[string]forward.Forwarder{"service-cloud": sf, "genesys": gn, "talkdesk": td}
	h.po.Watches[0].Forward = []string{"service-cloud", "genesys", "talkdesk"}
	h.p = New(h.j, h.client, h.po)
}

func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestForwardedOnceWithExactBytesToEachDestination(t *testing.T) {
	h := newHarness(t)
	h.withForwarders("", false)
	h.start(nil)
	h.drop("reports/q3.pdf", pdf)
	id := h.record("reports/q3.pdf").ID
	await(t, "forwards sent", func() bool {
		r, _ := h.j.Get(id)
		return r.State == journal.Posted && len(r.Forwards) == 3 && !r.ForwardsPending()
	})
	r, _ := h.j.Get(id)
	for name, f := range r.Forwards {
		if f.State != journal.ForwardSent {
			t.Errorf("%s: %s %s", name, f.State, f.Reason)
		}
	}
	sf := h.sb.SalesforceInteractions()
	if len(sf) != 1 || string(fileBytes(t, sf[0].Path)) != string(pdf) || sf[0].ContentType != "application/pdf" ||
		sf[0].FileName != "q3.pdf" || sf[0].From != "end-user-1" || sf[0].To != "channel-1" {
		t.Errorf("salesforce got %+v", sf)
	}
	gn := h.sb.GenesysUploads()
	if len(gn) != 1 || string(fileBytes(t, gn[0].Path)) != string(pdf) || gn[0].Shared != 1 || gn[0].ChatID != "0001PaBMYY3600R8" {
		t.Errorf("genesys got %+v", gn)
	}
	td := h.sb.TalkdeskAttachments()
	if len(td) != 1 || string(fileBytes(t, td[0].Path)) != string(pdf) || !strings.HasSuffix(td[0].Name, "q3.pdf") {
		t.Errorf("talkdesk got %+v", td)
	}
	if got := len(h.sb.Files()); got != 1 {
		t.Errorf("%d archive copies", got)
	}
}

func TestForwardLimitsAreEnforcedBeforeSending(t *testing.T) {
	h := newHarness(t)
	h.withForwarders("", true)
	h.start(nil)
	h.drop("notes.txt", []byte("text is not a Salesforce attachment type"))
	id := h.record("notes.txt").ID
	await(t, "forwards finished", func() bool {
		r, _ := h.j.Get(id)
		return r.State == journal.Posted && len(r.Forwards) == 3 && !r.ForwardsPending()
	})
	r, _ := h.j.Get(id)
	if f := r.Forwards["service-cloud"]; f.State != journal.ForwardRefused || !strings.Contains(f.Reason, "text/plain") {
		t.Fatalf("salesforce forward: %+v", f)
	}
	if n := len(h.sb.SalesforceInteractions()); n != 0 {
		t.Fatalf("%d Salesforce requests for a file outside its limits (no delivery-failed either: nothing was attempted)", n)
	}
	if r.Forwards["genesys"].State != journal.ForwardSent || r.Forwards["talkdesk"].State != journal.ForwardSent {
		t.Fatalf("other destinations: %+v %+v", r.Forwards["genesys"], r.Forwards["talkdesk"])
	}
}

func TestPermanentForwardFailureSendsDeliveryFailed(t *testing.T) {
	h := newHarness(t)
	h.withForwarders("", true)
	h.sb.QueueSalesforceErrors(10051)
	h.start(nil)
	h.drop("scan.pdf", pdf)
	id := h.record("scan.pdf").ID
	await(t, "salesforce forward held", func() bool {
		r, _ := h.j.Get(id)
		f := r.Forwards["service-cloud"]
		return f != nil && f.State == journal.ForwardHeld
	})
	await(t, "MessageDeliveryFailed received", func() bool {
		for _, in := range h.sb.SalesforceInteractions() {
			if in.EntryType == "MessageDeliveryFailed" {
				return true
			}
		}
		return false
	})
	var attachmentID string
	for _, in := range h.sb.SalesforceInteractions() {
		if in.InteractionType == "AttachmentInteraction" {
			attachmentID = in.ID
		}
	}
	for _, in := range h.sb.SalesforceInteractions() {
		if in.EntryType == "MessageDeliveryFailed" && (in.ErrorCode != "10051" || (attachmentID != "" && in.FailedID != attachmentID)) {
			t.Errorf("delivery failed entry %+v (attachment id %s)", in, attachmentID)
		}
	}
	if n := len(h.sb.Files()); n != 1 {
		t.Fatal("a forward failure touched the archive copy")
	}
}

func TestOneDestinationDownDelaysOnlyItself(t *testing.T) {
	h := newHarness(t)
	tdBox, err := sandbox.New(sandbox.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tdURL, err := tdBox.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tdBox.SetFaults(sandbox.Faults{DownUntil: time.Now().Add(time.Hour)})
	h.withForwarders(tdURL, false)
	h.start(nil)
	h.drop("a.pdf", pdf)
	id := h.record("a.pdf").ID
	await(t, "archive and the other destinations done", func() bool {
		r, _ := h.j.Get(id)
		return r.State == journal.Posted && r.Forwards["genesys"] != nil && r.Forwards["genesys"].State == journal.ForwardSent &&
			r.Forwards["service-cloud"] != nil && r.Forwards["service-cloud"].State == journal.ForwardSent
	})
	await(t, "talkdesk paused", func() bool { return !h.p.DestinationHealth()["talkdesk"].Up })
	if r, _ := h.j.Get(id); r.Forwards["talkdesk"].State != journal.ForwardPending {
		t.Fatalf("talkdesk forward %+v while it is down", r.Forwards["talkdesk"])
	}
	tdBox.SetFaults(sandbox.Faults{})
	await(t, "talkdesk forward after recovery", func() bool {
		r, _ := h.j.Get(id)
		return r.Forwards["talkdesk"].State == journal.ForwardSent
	})
	if n := len(tdBox.TalkdeskAttachments()); n != 1 {
		t.Fatalf("%d talkdesk attachments, want exactly 1", n)
	}
	if n := len(h.sb.Files()); n != 1 {
		t.Fatalf("%d archive PUTs", n)
	}
}

// TestGenesysTranscriptForwardsToItsChat: a Genesys chat log in a transcripts watch is
// archived as a conversation, and its attachment is forwarded to the chat the log names,
// with the text that went with it.
func TestGenesysTranscriptForwardsToItsChat(t *testing.T) {
	h := newHarness(t, transcriptsMode(time.Minute, time.Hour))
	h.withForwarders("", false)
	h.po.Watches[0].Forward = []string{"genesys"}
	h.p = New(h.j, h.client, h.po)
	h.start(nil)
	form := append([]byte("%PDF-1.4\n"), make([]byte, 2048-9)...)
	chat := `{"chatPath": "/chats/0001PaBMYY3600R9", "messages": [
	 {"from": {"nickname": "Kim", "participantId": "00C1", "type": "Client"}, "index": 1, "type": "Message", "text": "Hello", "timestamp": "2016-07-21 17:21:41+0300"},
	 {"from": {"id": "00A1", "nickname": "Agent Smith", "type": "Agent"}, "index": 2, "type": "Message", "text": "here is the form",
	  "attachment": {"id": "DOC-1", "name": "form.pdf", "size": 2048}, "timestamp": "2016-07-21 17:22:30.500+0300"}]}`
	h.dropAll(map[string][]byte{
		"chats/c9.genesys.json":            []byte(chat),
		"chats/attachments/DOC-1/form.pdf": form,
	})
	att := h.awaitState(h.record("chats/attachments/DOC-1/form.pdf").ID, journal.Posted)
	h.awaitState(h.record("chats/c9.genesys.json").ID, journal.Posted)
	convs := h.conversations()
	if len(convs) != 1 || len(convs[0].Events) != 2 || convs[0].Events[1].EventType != "File_transfer" ||
		convs[0].Events[1].Files[0].FileKey != att.FileKey || convs[0].Events[0].Participants[0].DisplayName != "Kim" {
		t.Fatalf("conversation %+v", convs)
	}
	await(t, "attachment forwarded to Genesys", func() bool {
		r, _ := h.j.Get(att.ID)
		return r.Forwards["genesys"] != nil && r.Forwards["genesys"].State == journal.ForwardSent
	})
	up := h.sb.GenesysUploads()
	if len(up) != 1 || up[0].ChatID != "0001PaBMYY3600R9" || len(up[0].Texts) != 1 || up[0].Texts[0] != "here is the form" {
		t.Fatalf("genesys uploads %+v", up)
	}
	if n := len(h.sb.GenesysUploads()); n != 1 {
		t.Fatalf("the transcript itself was forwarded: %d uploads", n)
	}
}

// breakingForwarder refuses every file, and breaks the journal as it does: the refusal
// cannot be recorded.
type breakingForwarder struct{ broken *atomic.Bool }

func (breakingForwarder) Name() string { return "breaking" }
func (b breakingForwarder) Refuse(*forward.File) error {
	b.broken.Store(true)
	return failure.Refuse("not accepted here")
}
func (breakingForwarder) Forward(context.Context, *forward.File) (*forward.Receipt, error) {
	return nil, errors.New("never sent")
}

// A forward whose outcome cannot be committed says so in the log. (It was dropped without
// a line before.)
func TestForwardOutcomeThatCannotBeRecordedIsLogged(t *testing.T) {
	logs := &logBuffer{}
	log := logrus.New()
	log.SetFormatter(&logrus.JSONFormatter{})
	log.SetOutput(logs)
	var broken atomic.Bool
	h := newHarness(t)
	h.j.Close()
	j, err := journal.Open(h.j.Path(), journal.Options{WriteFault: func() error {
		if broken.Load() {
			return syscall.EROFS
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	h.j = j
	h.po.Logger = log
	h.po.Forwarders = map[string]forward.Forwarder{"breaking": breakingForwarder{&broken}}
	h.po.Watches[0].Forward = []string{"breaking"}
	h.p = New(h.j, h.client, h.po)
	h.start(nil)
	h.drop("a.txt", []byte("forward me"))
	await(t, "a log line for the lost forward outcome", func() bool {
		n, _ := logs.count("record the outcome of a forward")
		return n > 0
	})
	broken.Store(false)
}
