package posting

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/events"
	"github.com/archivist-project/archivist/archive/gate"
	"github.com/archivist-project/archivist/archive/ondisk"
	"github.com/archivist-project/archivist/archive/stage"
	"github.com/archivist-project/archivist/archive/transcript"
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher/beneath"
)

// Transcripts mode. Every file of a transcripts watch is uploaded as usual. A transcript then
// takes the "conv" lane: it is parsed, waits until every attachment it references is uploaded
// (up to AttachmentWait, then it is held with the list of missing files), and its events are
// posted in order, in chunks; each accepted chunk is committed with the conversation's event
// ids and content digests, so the same transcript dropped again sends nothing, a re-export
// with more events sends only those, and an event whose content changed is sent again as the
// replacement of the earlier one. Any other file takes the "loose" lane: if no transcript
// references it within UnreferencedAfter, it is posted as a loose file and flagged.
//
// While a transcript waits, nothing of it is kept in memory: the journal holds what it claims
// and waits for (journal.Claim), and makes it due again when the last missing file arrives;
// otherwise it is read again when its wait is over.

// convRound works on the transcripts that are due (only the first when probing). worked
// reports whether there were any; answered is false when the archive failed transiently.
func (p *Lane) convRound(ctx context.Context, now time.Time, probe bool) (worked, answered bool) {
	items, _, err := p.j.DB.DueIn(journal.LaneConv, now, stage.DueScan, nil)
	if err != nil {
		p.j.LogError(p.j.Log, err, "read due transcripts from the journal")
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
func (p *Lane) conversation1(ctx context.Context, id uint64) bool {
	r, ok := p.j.LoadDue(id, journal.LaneConv)
	if ok && r.Role == journal.RoleExport {
		return p.export1(ctx, r)
	}
	if !ok || r.State != journal.Uploaded {
		return true
	}
	if _, due := r.Due(journal.LaneConv); !due {
		return true
	}
	l := p.j.Log.WithFields(logrus.Fields{"id": r.ID, "watch": r.Watch, "path": string(r.Path)})
	w, ok := p.deps.Watch(r.Watch)
	if !ok {
		p.deps.Park(id, journal.LaneConv, r.Watch)
		return true
	}
	// Read and parsed again each time it comes due (it is due only when its wait is over or
	// what it waited for arrived): a parsed transcript is several times its size in memory.
	conv, err := p.readTranscript(w, r)
	if err != nil {
		var te *transcript.Error
		switch {
		case errors.As(err, &te), errors.Is(err, ondisk.ErrChanged):
			p.j.Hold(r, l, err.Error(), err)
		case errors.Is(err, fs.ErrNotExist):
			p.j.Hold(r, l, "transcript deleted before its events were posted (its bytes are archived under "+r.FileKey+")", err)
			// It can never post the files it claimed: let them go loose.
			if err := p.j.Result(p.j.DB.Unclaim(id)); err != nil {
				l.WithError(err).Error("release the attachments the deleted transcript claimed")
			}
		default:
			p.j.RetryLater(id, journal.LaneConv, err, p.j.Now().Add(p.deps.Backoff.Delay(r.Attempts+1, 0)))
		}
		return true
	}
	l = l.WithField("conversation", conv.ID)

	atts, refs, missing, problems := p.attachments(w, conv)
	if len(problems) > 0 || len(missing) > 0 {
		p.awaitAttachments(w, r, l, refs, missing, problems)
		return true
	}
	state, err := p.j.DB.Conversation(r.Watch, conv.ID)
	if err != nil {
		p.j.RetryLater(id, journal.LaneConv, err, p.j.Now().Add(time.Second))
		return true
	}
	chunks, before, err := events.Chunks(w.Source, p.deps.Limits, conv, atts, state, p.j.DB.LegacyMatch(state, r.SHA256))
	if err != nil {
		p.j.Hold(r, l, err.Error(), err)
		return true
	}
	if len(chunks) == 0 {
		p.nothingNew(w, r, l, conv, atts)
		return true
	}
	return p.postChunks(ctx, w, r, l, conv, chunks, before)
}

// awaitAttachments holds transcript r, or lets it wait for the files it references that are
// not archived yet, and records in the journal what it claims and waits for. It comes due
// again when the last missing file arrives (the journal sees to that) or its wait is over.
func (p *Lane) awaitAttachments(w Watch, r *journal.Record, l *logrus.Entry, refs []string, missing []transcript.FileRef, problems []string) {
	now := p.j.Now()
	deadline := r.DiscoveredAt.Add(w.AttachmentWait)
	where := map[string]string{}
	paths := make([]string, 0, len(missing))
	for _, f := range missing {
		where[f.Path] = fmt.Sprintf("%s (%s)", f.Path, f.JSONPath)
		paths = append(paths, f.Path)
	}
	var reason string
	err := p.j.Result(p.j.DB.Claim(r.ID, w.Source.Watch, refs, paths, func(x *journal.Record, still []string) ([]journal.Entry, error) {
		if _, due := x.Due(journal.LaneConv); !due || x.State != journal.Uploaded {
			return nil, journal.ErrSkip
		}
		names := make([]string, len(still))
		for i, s := range still {
			names[i] = where[s]
		}
		switch {
		case len(problems) > 0:
			reason = fmt.Sprintf("%s: %s", x.Path, strings.Join(problems, "; "))
		case len(still) == 0:
			x.Schedule(journal.LaneConv, now) // arrived since they were looked up: read it again now
			return nil, nil
		case !now.Before(deadline):
			reason = fmt.Sprintf("%s: waited %s for attachments; missing: %s", x.Path, w.AttachmentWait, strings.Join(names, ", "))
		default:
			x.Schedule(journal.LaneConv, deadline)
			msg := "waiting for attachments: " + strings.Join(names, ", ")
			if x.LastError == msg {
				return nil, nil
			}
			x.LastError = msg
			return []journal.Entry{{Time: now, Step: "conv", Lane: journal.LaneConv, Result: "waiting",
				Detail: fmt.Sprintf("%s; until %s", msg, deadline.UTC().Format(time.RFC3339))}}, nil
		}
		if err := x.Hold(reason, now); err != nil {
			return nil, err
		}
		x.LastError = reason
		return []journal.Entry{{Time: now, Step: string(journal.Held), Result: string(journal.Held), Detail: reason}}, nil
	}))
	switch {
	case err != nil:
		l.WithError(err).Error("record what the transcript waits for")
	case reason != "":
		l.WithField("reason", reason).Warn("file held")
	}
}

// postChunks posts the chunks of transcript r's events in order, committing each. It reports
// false when the archive failed transiently.
func (p *Lane) postChunks(ctx context.Context, w Watch, r *journal.Record, l *logrus.Entry, conv *transcript.Conversation, chunks []events.Chunk, before int) bool {
	for i, ch := range chunks {
		res, err := p.send(ctx, ch.Req)
		if err != nil {
			switch o := p.deps.Gate.Judge(ctx, p.j.Now(), err); o.Verdict {
			case gate.Stop:
				return false
			case gate.Hold:
				p.j.Hold(r, l, fmt.Sprintf("archive refused events %s of conversation %s: %v", ch.Span(), conv.ID, err), err)
				return true
			default:
				o.Paused(l, err, "event post failed; archive paused until then")
				p.j.RetryLater(r.ID, journal.LaneConv, err, o.At)
				return false
			}
		}
		p.deps.Gate.Succeeded()
		err = p.j.Result(p.j.DB.CommitChunk(journal.Chunk{
			Transcript: r.ID, Watch: r.Watch, Conv: conv.ID, EventIDs: ch.IDs, Digests: ch.Digests, RequestID: res.RequestID,
			Attachments: ch.Attachments, Last: i == len(chunks)-1,
			Total: len(conv.Events), Before: before,
			OnAttachment: func(a *journal.Record) {
				if s, ok := ch.Shares[a.ID]; ok {
					a.Share = &s
				}
				p.deps.Forwards(a, p.j.Now())
				p.deps.Disposable(a)
			},
			OnLast: func(t *journal.Record) { p.deps.Disposable(t) },
		}, p.j.Now()))
		if err != nil {
			l.WithError(err).Error("events accepted but the journal commit failed; they will be posted again")
			return false
		}
		l.WithFields(logrus.Fields{"events": len(ch.IDs), "request_id": res.RequestID}).Info("conversation events archived")
	}
	return true
}

// readTranscript reads the transcript of r beneath the watch root, checks the bytes are the
// ones archived under its key, and parses them.
func (p *Lane) readTranscript(w Watch, r *journal.Record) (*transcript.Conversation, error) {
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
		return nil, fmt.Errorf("%w: %s is no longer the version archived under %s", ondisk.ErrChanged, r.Path, r.FileKey)
	}
	return format.Parse(string(r.Path), data)
}

// attachments resolves every on-disk file the conversation references to its journal record.
// refs lists every such file once; missing those not archived yet; problems those that never
// will be (held).
func (p *Lane) attachments(w Watch, conv *transcript.Conversation) (atts map[string]*journal.Record, refs []string, missing []transcript.FileRef, problems []string) {
	atts = map[string]*journal.Record{}
	seen := map[string]bool{}
	for _, e := range conv.Events {
		for _, f := range e.Files {
			if f.Path == "" || seen[f.Path] {
				continue
			}
			seen[f.Path] = true
			refs = append(refs, f.Path)
			fp, ok, err := p.j.DB.Current(w.Source.Watch, f.Path)
			if err != nil {
				p.j.LogError(p.j.Log.WithFields(logrus.Fields{"watch": w.Source.Watch, "path": f.Path}), err, "look up an attachment's record")
			}
			if !ok {
				missing = append(missing, f)
				continue
			}
			a, err := p.j.DB.Get(fp.ID)
			if err != nil {
				if !p.j.Unreadable(fp.ID, err) {
					p.j.LogError(p.j.Log.WithFields(logrus.Fields{"id": fp.ID, "watch": w.Source.Watch, "path": f.Path}), err, "load an attachment's record")
				}
				missing = append(missing, f)
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
				missing = append(missing, f)
			}
		}
	}
	return atts, refs, missing, problems
}

// nothingNew finishes a transcript whose events are all archived already (the same export
// dropped again, or an older one).
func (p *Lane) nothingNew(w Watch, r *journal.Record, l *logrus.Entry, conv *transcript.Conversation, atts map[string]*journal.Record) {
	now := p.j.Now()
	ids := []uint64{r.ID}
	for _, a := range atts {
		ids = append(ids, a.ID)
	}
	err := p.j.UpdateMany(ids, func(x *journal.Record) ([]journal.Entry, error) {
		if x.ID != r.ID {
			if _, waiting := x.Due(journal.LaneLoose); !waiting {
				return nil, journal.ErrSkip
			}
			x.Done(journal.LaneLoose)
			x.ReferencedBy = r.ID
			if err := x.Move(journal.Posted); err != nil {
				return nil, err
			}
			x.PostedAt = now
			p.deps.Disposable(x)
			return []journal.Entry{{Time: now, Step: "post", Result: "skipped", FileKey: x.FileKey,
				Detail: fmt.Sprintf("referenced by transcript #%d whose events were archived before", r.ID)}}, nil
		}
		if err := x.Move(journal.Posted); err != nil {
			return nil, err
		}
		x.PostedAt = now
		x.Conversation, x.Events, x.EventsPosted = conv.ID, len(conv.Events), len(conv.Events)
		x.Reason = fmt.Sprintf("nothing new: all %d events of conversation %s were archived before", len(conv.Events), conv.ID)
		x.Attempts, x.LastError = 0, ""
		x.Done(journal.LaneConv)
		p.deps.Disposable(x)
		return []journal.Entry{{Time: now, Step: "post", Lane: journal.LaneConv, Result: "skipped", Detail: x.Reason}}, nil
	})
	if err != nil {
		l.WithError(err).Error("record that the transcript has nothing new; it is read again")
		return
	}
	l.Info("transcript has nothing new: its events were archived before")
}
