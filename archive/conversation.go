package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/filekey"
	"github.com/archivist-project/archivist/archive/globalrelay"
	"github.com/archivist-project/archivist/archive/transcript"
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher/beneath"
)

// Transcripts mode. Every file of a transcripts watch is uploaded as usual. A transcript then
// takes the "conv" lane: it is parsed, waits until every attachment it references is uploaded
// (up to AttachmentWait, then it is held with the list of missing files), and its events are
// posted in order, in chunks; each accepted chunk is committed with the conversation's posted
// event ids, so the same transcript dropped again sends nothing and a re-export with more
// events sends only those. Any other file takes the "loose" lane: if no transcript references
// it within UnreferencedAfter, it is posted as a loose file and flagged.

// Modes of a watch.
const (
	ModeFiles       = "files"
	ModeTranscripts = "transcripts"
)

// attachmentPoll is how often a transcript waiting for its attachments looks again.
const attachmentPoll = time.Second

// parsedTranscripts keeps the parsed conversations of transcripts that wait for their
// attachments, by record id. Only the poster's goroutine uses it.
type parsedTranscripts map[uint64]*transcript.Conversation

// take returns and forgets the parsed conversation of record id, if kept.
func (m parsedTranscripts) take(id uint64) *transcript.Conversation {
	c := m[id]
	delete(m, id)
	return c
}

func (m parsedTranscripts) put(id uint64, c *transcript.Conversation) { m[id] = c }

// roleOf is the role a settled file has in watch w.
func roleOf(w Watch, rel string) string {
	if w.Mode != ModeTranscripts {
		return ""
	}
	if _, ok := transcript.Detect(rel); ok {
		return journal.RoleTranscript
	}
	return journal.RoleAttachment
}

// afterUpload schedules what follows a confirmed upload of r, by its role.
func (p *Pipeline) afterUpload(w Watch, r *journal.Record, now time.Time) {
	switch r.Role {
	case journal.RoleTranscript:
		r.Schedule(journal.LaneConv, now)
	case journal.RoleAttachment:
		if r.ReferencedBy == 0 {
			r.Schedule(journal.LaneLoose, now.Add(w.UnreferencedAfter))
		}
	default:
		r.Schedule(journal.LanePost, now)
		p.scheduleForwards(w, r, now)
	}
}

// looseRound turns attachments nobody referenced in time into loose files.
func (p *Pipeline) looseRound(now time.Time) {
	items, _, err := p.j.DueIn(journal.LaneLoose, now, postScan, nil)
	if err != nil {
		p.logError(p.log, err, "read due loose files from the journal")
		return
	}
	for _, it := range items {
		var w Watch
		err := p.update(it.ID, func(r *journal.Record) ([]journal.Entry, error) {
			if _, due := r.Due(journal.LaneLoose); !due || r.State != journal.Uploaded {
				return nil, journal.ErrSkip
			}
			w, _ = p.watch(r.Watch)
			r.Done(journal.LaneLoose)
			r.Schedule(journal.LanePost, now)
			p.scheduleForwards(w, r, now)
			r.Reason = fmt.Sprintf("no transcript referenced it within %s; archived as a loose file", w.UnreferencedAfter)
			return []journal.Entry{{Time: now, Step: "loose", Lane: journal.LaneLoose, Result: "ok", Detail: r.Reason}}, nil
		})
		if err != nil {
			p.unreadable(it.ID, err)
			continue
		}
		if r, err := p.j.Get(it.ID); err == nil && r.Reason != "" {
			p.log.WithFields(logrus.Fields{"id": r.ID, "watch": r.Watch, "path": string(r.Path), "key": r.FileKey}).
				Warn("file not referenced by any transcript: archived as a loose file")
		}
	}
}

// convRound works on the transcripts that are due (only the first when probing). worked
// reports whether there were any; answered is false when the archive failed transiently.
func (p *Pipeline) convRound(ctx context.Context, now time.Time, probe bool) (worked, answered bool) {
	items, _, err := p.j.DueIn(journal.LaneConv, now, postScan, nil)
	if err != nil {
		p.logError(p.log, err, "read due transcripts from the journal")
		return false, true
	}
	for _, it := range items {
		if ctx.Err() != nil || !p.conversation1(ctx, it.ID) {
			return true, false
		}
		if probe {
			return true, true
		}
	}
	return len(items) > 0, true
}

// conversation1 archives the events of transcript record id. It reports false when the
// archive failed transiently (the caller stops this round).
func (p *Pipeline) conversation1(ctx context.Context, id uint64) bool {
	r, ok := p.loadDue(id, journal.LaneConv)
	if !ok || r.State != journal.Uploaded {
		return true
	}
	if _, due := r.Due(journal.LaneConv); !due {
		return true
	}
	l := p.log.WithFields(logrus.Fields{"id": r.ID, "watch": r.Watch, "path": string(r.Path)})
	w, ok := p.watch(r.Watch)
	if !ok {
		p.retryLater(id, journal.LaneConv, fmt.Errorf("watch %q is not configured", r.Watch), p.now().Add(time.Hour))
		return true
	}
	conv := p.waiting.take(id)
	var err error
	if conv == nil {
		conv, err = p.readTranscript(w, r)
	}
	if err != nil {
		var te *transcript.Error
		switch {
		case errors.As(err, &te), errors.Is(err, errChanged):
			p.hold(r, l, err.Error(), err)
		case errors.Is(err, fs.ErrNotExist):
			p.hold(r, l, "transcript deleted before its events were posted (its bytes are archived under "+r.FileKey+")", err)
		default:
			p.retryLater(id, journal.LaneConv, err, p.now().Add(p.o.Backoff.Delay(r.Attempts+1, 0)))
		}
		return true
	}
	l = l.WithField("conversation", conv.ID)

	atts, missing, problems := p.attachments(w, conv)
	if len(problems) > 0 {
		p.hold(r, l, fmt.Sprintf("%s: %s", r.Path, strings.Join(problems, "; ")), failure.Refuse("attachment unusable"))
		return true
	}
	if len(missing) > 0 {
		now := p.now()
		if deadline := r.DiscoveredAt.Add(w.AttachmentWait); now.After(deadline) {
			p.hold(r, l, fmt.Sprintf("%s: waited %s for attachments; missing: %s", r.Path, w.AttachmentWait, strings.Join(missing, ", ")),
				failure.Refuse("attachments missing"))
			return true
		}
		// The archived version cannot change: keep it parsed instead of reading, hashing and
		// parsing it again at every poll.
		p.waiting.put(id, conv)
		_ = p.update(id, func(r *journal.Record) ([]journal.Entry, error) {
			if _, due := r.Due(journal.LaneConv); !due {
				return nil, journal.ErrSkip
			}
			r.Schedule(journal.LaneConv, now.Add(attachmentPoll))
			if r.LastError == "" {
				r.LastError = "waiting for attachments: " + strings.Join(missing, ", ")
				return []journal.Entry{{Time: now, Step: "conv", Lane: journal.LaneConv, Result: "waiting", Detail: r.LastError}}, nil
			}
			return nil, nil
		})
		return true
	}

	state, err := p.j.Conversation(r.Watch, conv.ID)
	if err != nil {
		p.retryLater(id, journal.LaneConv, err, p.now().Add(time.Second))
		return true
	}
	chunks := p.chunks(w, conv, atts, state.Posted)
	if len(chunks) == 0 {
		p.nothingNew(w, r, l, conv, atts)
		return true
	}
	for i, ch := range chunks {
		start := p.now()
		res, err := p.gr.PostConversation(ctx, ch.req)
		p.observe(archiveName, "post", start, err, 0)
		if err != nil {
			switch failure.Classify(err) {
			case failure.Canceled:
				return false
			case failure.Permanent:
				p.gate.succeeded()
				p.hold(r, l, fmt.Sprintf("archive refused events %s of conversation %s: %v", ch.span(), conv.ID, err), err)
				return true
			default:
				until := p.gate.failed(p.now(), err)
				l.WithError(err).WithField("retry_at", until.Format(time.RFC3339)).Warn("event post failed; archive paused until then")
				p.retryLater(id, journal.LaneConv, err, until)
				return false
			}
		}
		p.gate.succeeded()
		err = p.journalResult(p.j.CommitChunk(journal.Chunk{
			Transcript: id, Watch: r.Watch, Conv: conv.ID, EventIDs: ch.ids, RequestID: res.RequestID,
			Attachments: ch.attachments, Last: i == len(chunks)-1,
			Total: len(conv.Events), Before: countPosted(conv, state.Posted),
			OnAttachment: func(a *journal.Record) {
				if s, ok := ch.shares[a.ID]; ok {
					a.Share = &s
				}
				p.scheduleForwards(w, a, p.now())
				p.maybeDispose(w, a)
			},
			OnLast: func(t *journal.Record) { p.maybeDispose(w, t) },
		}, p.now()))
		if err != nil {
			l.WithError(err).Error("events accepted but the journal commit failed; they will be posted again")
			return false
		}
		l.WithFields(logrus.Fields{"events": len(ch.ids), "request_id": res.RequestID}).Info("conversation events archived")
	}
	return true
}

// readTranscript reads the transcript of r beneath the watch root, checks the bytes are the
// ones archived under its key, and parses them.
func (p *Pipeline) readTranscript(w Watch, r *journal.Record) (*transcript.Conversation, error) {
	format, ok := transcript.Detect(string(r.Path))
	if !ok {
		return nil, &transcript.Error{File: string(r.Path), Reason: transcript.ErrUnknownFormat.Error(), Err: transcript.ErrUnknownFormat}
	}
	f, err := beneath.Open(w.Root, string(r.Path))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, transcript.MaxTranscriptSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > transcript.MaxTranscriptSize {
		return nil, &transcript.Error{File: string(r.Path), Reason: fmt.Sprintf("larger than %d bytes", transcript.MaxTranscriptSize), Err: transcript.ErrTooLarge}
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != r.SHA256 {
		return nil, fmt.Errorf("%w: %s is no longer the version archived under %s", errChanged, r.Path, r.FileKey)
	}
	return format.Parse(string(r.Path), data)
}

// attachments resolves every on-disk file the conversation references to its journal record.
// missing lists files not archived yet; problems lists files that never will be (held).
func (p *Pipeline) attachments(w Watch, conv *transcript.Conversation) (atts map[string]*journal.Record, missing, problems []string) {
	atts = map[string]*journal.Record{}
	for _, e := range conv.Events {
		for _, f := range e.Files {
			if f.Path == "" || atts[f.Path] != nil {
				continue
			}
			fp, ok := p.j.Current(w.Name, f.Path)
			if !ok {
				missing = append(missing, fmt.Sprintf("%s (%s)", f.Path, f.JSONPath))
				continue
			}
			a, err := p.j.Get(fp.ID)
			if err != nil {
				missing = append(missing, fmt.Sprintf("%s (%s)", f.Path, f.JSONPath))
				continue
			}
			switch a.State {
			case journal.Uploaded, journal.Posted:
				if f.Size >= 0 && f.Size != a.Size {
					problems = append(problems, fmt.Sprintf("%s: %s is %d bytes, the transcript says %d", f.JSONPath, f.Path, a.Size, f.Size))
					continue
				}
				atts[f.Path] = a
			case journal.Held:
				problems = append(problems, fmt.Sprintf("%s: %s: %s", f.JSONPath, f.Path, a.Reason))
			default:
				missing = append(missing, fmt.Sprintf("%s (%s)", f.Path, f.JSONPath))
			}
		}
	}
	return atts, missing, problems
}

// convChunk is one request of a conversation's events.
type convChunk struct {
	req         *globalrelay.Conversation
	ids         []string
	attachments []uint64
	shares      map[uint64]journal.Share // how the transcript shared each attachment, for forwards
}

func (c convChunk) span() string {
	if len(c.ids) == 1 {
		return c.ids[0]
	}
	return c.ids[0] + ".." + c.ids[len(c.ids)-1]
}

// chunks builds the requests for the events not posted yet, in order, each within
// MaxEventsPerRequest and MaxRequestBytes.
func (p *Pipeline) chunks(w Watch, conv *transcript.Conversation, atts map[string]*journal.Record, posted map[string]bool) []convChunk {
	people := map[string]transcript.Participant{}
	for _, pt := range conv.Participants {
		people[pt.ID] = pt
	}
	person := func(id, userType string) globalrelay.Participant {
		pt := people[id]
		return globalrelay.Participant{DisplayName: pt.DisplayName, CorporateEmail: pt.Email, UserType: userType}
	}
	overview := globalrelay.Overview{ConversationType: p.o.ConversationType}
	for _, pt := range conv.Participants {
		overview.InitialParticipants = append(overview.InitialParticipants, globalrelay.Participant{DisplayName: pt.DisplayName, CorporateEmail: pt.Email})
	}
	if len(conv.Participants) > 0 {
		overview.InitiatorName, overview.InitiatorEmail = conv.Participants[0].DisplayName, conv.Participants[0].Email
	}
	if len(conv.Events) > 0 && len(conv.Events[0].From) > 0 {
		first := people[conv.Events[0].From]
		overview.InitiatorName, overview.InitiatorEmail = first.DisplayName, first.Email
	}
	switch {
	case !conv.CreatedAt.IsZero():
		overview.CreatedAt = conv.CreatedAt.UnixMilli()
	case len(conv.Events) > 0:
		overview.CreatedAt = conv.Events[0].Time.UnixMilli()
	}
	overview.CreatedBy = overview.InitiatorName
	base, _ := json.Marshal(globalrelay.Conversation{Overview: overview})

	var out []convChunk
	cur := convChunk{}
	size := len(base)
	flush := func() {
		if len(cur.ids) > 0 {
			out = append(out, cur)
		}
		cur, size = convChunk{}, len(base)
	}
	for _, e := range conv.Events {
		if posted[e.ID] {
			continue
		}
		ev := globalrelay.Event{EventTime: e.Time.UnixMilli(), SystemText: e.SystemText,
			Participants: []globalrelay.Participant{person(e.From, globalrelay.UserInitiator)}}
		for _, to := range e.To {
			ev.Participants = append(ev.Participants, person(to, globalrelay.UserRecipient))
		}
		var refs []uint64
		shares := map[uint64]journal.Share{}
		switch e.Type {
		case transcript.EventFile:
			ev.EventType = globalrelay.EventFileTransfer
			for _, f := range e.Files {
				if f.Href != "" {
					ev.Files = append(ev.Files, globalrelay.FileRef{Filename: f.Name, FileKey: filekey.External(w.Name, f.Href, f.Name), FileHref: f.Href})
					continue
				}
				a := atts[f.Path]
				ev.Files = append(ev.Files, globalrelay.FileRef{Filename: f.Name, FileKey: a.FileKey,
					IsInlined: w.InlineImages && strings.HasPrefix(a.MIME, "image/")})
				refs = append(refs, a.ID)
				shares[a.ID] = journal.Share{ChatID: conv.ChatID, EndUser: endUser(conv), Text: e.Text, Time: e.Time}
			}
			if e.Text != "" {
				ev.Content = &globalrelay.Content{Message: e.Text}
			}
		default:
			if e.Text != "" {
				ev.EventType = globalrelay.EventMessage
				ev.Content = &globalrelay.Content{Message: e.Text}
			} else {
				ev.EventType = globalrelay.EventUserEvent // a system notice: only systemText
			}
		}
		b, _ := json.Marshal(ev)
		if len(cur.ids) > 0 && (len(cur.ids) >= p.o.MaxEventsPerRequest || size+len(b)+1 > p.o.MaxRequestBytes) {
			flush()
		}
		if cur.req == nil {
			cur.req = &globalrelay.Conversation{Overview: overview}
		}
		cur.req.Events = append(cur.req.Events, ev)
		cur.ids = append(cur.ids, e.ID)
		cur.attachments = append(cur.attachments, refs...)
		for id, sh := range shares {
			if cur.shares == nil {
				cur.shares = map[uint64]journal.Share{}
			}
			cur.shares[id] = sh
		}
		size += len(b) + 1
	}
	flush()
	return out
}

// nothingNew finishes a transcript whose events are all archived already (the same export
// dropped again, or an older one).
func (p *Pipeline) nothingNew(w Watch, r *journal.Record, l *logrus.Entry, conv *transcript.Conversation, atts map[string]*journal.Record) {
	now := p.now()
	ids := []uint64{r.ID}
	for _, a := range atts {
		ids = append(ids, a.ID)
	}
	err := p.updateMany(ids, func(x *journal.Record) ([]journal.Entry, error) {
		if x.ID != r.ID {
			if _, waiting := x.Due(journal.LaneLoose); !waiting {
				return nil, journal.ErrSkip
			}
			x.Done(journal.LaneLoose)
			x.ReferencedBy = r.ID
			x.State, x.PostedAt = journal.Posted, now
			p.maybeDispose(w, x)
			return []journal.Entry{{Time: now, Step: "post", Result: "skipped", FileKey: x.FileKey,
				Detail: fmt.Sprintf("referenced by transcript #%d whose events were archived before", r.ID)}}, nil
		}
		x.State, x.PostedAt = journal.Posted, now
		x.Conversation, x.Events, x.EventsPosted = conv.ID, len(conv.Events), len(conv.Events)
		x.Reason = fmt.Sprintf("nothing new: all %d events of conversation %s were archived before", len(conv.Events), conv.ID)
		x.Attempts, x.LastError = 0, ""
		x.Done(journal.LaneConv)
		p.maybeDispose(w, x)
		return []journal.Entry{{Time: now, Step: "post", Lane: journal.LaneConv, Result: "skipped", Detail: x.Reason}}, nil
	})
	if err == nil {
		l.Info("transcript has nothing new: its events were archived before")
	}
}

// countPosted is how many of conv's events are among posted.
func countPosted(conv *transcript.Conversation, posted map[string]bool) int {
	n := 0
	for _, e := range conv.Events {
		if posted[e.ID] {
			n++
		}
	}
	return n
}

// endUser is the client participant of a conversation, the "from" of a Salesforce forward:
// the first Genesys participant of type Client, else none (the destination's default).
func endUser(conv *transcript.Conversation) string {
	for _, pt := range conv.Participants {
		if strings.EqualFold(pt.Role, "client") {
			return pt.ID
		}
	}
	return ""
}
