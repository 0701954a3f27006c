package posting

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/gabriel-vasile/mimetype"

	"github.com/archivist-project/archivist/archive/filekey"
	"github.com/archivist-project/archivist/archive/gate"
	"github.com/archivist-project/archivist/archive/ondisk"
	"github.com/archivist-project/archivist/archive/transcript"
	"github.com/archivist-project/archivist/journal"
)

// stagePoll is how soon an export waiting for the media next to it looks again.
const stagePoll = 2 * time.Second

// storeFiles makes sure every file the pending events carry is in the archive before they
// are posted: bytes inside the export are PUT under their own content-addressed key with
// their sniffed MIME type; media next to a loose chat text are the records of their own
// uploads (waited for up to AttachmentWait). A file that cannot be stored is left out of
// its event, which says so, and is a problem of the export. false: the run halted.
func (x *exportRun) storeFiles(ctx context.Context, conv *transcript.Conversation) (map[string]*journal.Record, bool) {
	atts, ok := x.onDisk(conv)
	if !ok {
		return nil, false
	}
	for i := range conv.Events {
		e := &conv.Events[i]
		var kept []transcript.FileRef
		for _, f := range e.Files {
			switch {
			case f.Href != "":
			case f.Entry != "":
				a := x.storeEntry(ctx, f.Entry)
				if x.halted {
					return nil, false
				}
				if a == nil {
					e.SystemText = joinNote(e.SystemText, fmt.Sprintf("File %s is in the export but could not be archived.", f.Name))
					continue
				}
				atts[f.Entry] = a
			case atts[f.Path] == nil:
				e.SystemText = joinNote(e.SystemText, fmt.Sprintf("File %s could not be archived.", f.Name))
				continue
			}
			kept = append(kept, f)
		}
		e.Files = kept
	}
	return atts, true
}

func joinNote(text, note string) string {
	if text == "" {
		return note
	}
	return text + " " + note
}

// onDisk resolves the files of conv that are on disk (a loose chat text's media) to their
// records. false: some are not uploaded yet and the run waits for them.
func (x *exportRun) onDisk(conv *transcript.Conversation) (map[string]*journal.Record, bool) {
	atts, _, missing, problems := x.p.attachments(x.w, conv)
	now := x.p.j.Now()
	if len(missing) > 0 && now.Before(x.r.DiscoveredAt.Add(x.w.AttachmentWait)) {
		names := make([]string, len(missing))
		for i, f := range missing {
			names[i] = f.Path
		}
		x.wait("waiting for attachments: "+strings.Join(names, ", "), now.Add(stagePoll))
		return nil, false
	}
	for _, f := range missing {
		x.problems = append(x.problems, fmt.Errorf("%s (%s): waited %s for it; not archived", f.Path, f.JSONPath, x.w.AttachmentWait))
	}
	for _, pr := range problems {
		x.problems = append(x.problems, errors.New(pr))
	}
	return atts, true
}

// wait ends the run until at, noting what it waits for once (not at every look).
func (x *exportRun) wait(msg string, at time.Time) {
	x.halted = true
	now := x.p.j.Now()
	err := x.p.j.Update(x.r.ID, func(r *journal.Record) ([]journal.Entry, error) {
		if _, due := r.Due(journal.LaneConv); !due {
			return nil, journal.ErrSkip
		}
		r.Schedule(journal.LaneConv, at)
		if r.LastError == msg {
			return nil, nil
		}
		r.LastError = msg
		return []journal.Entry{{Time: now, Step: "conv", Lane: journal.LaneConv, Result: "waiting", Detail: msg}}, nil
	})
	if err != nil {
		x.l.WithError(err).Error("record what the export waits for")
	}
}

// storeEntry PUTs the bytes of an export's entry once per run; nil if they cannot be
// stored (a problem of the export) or the run halted.
func (x *exportRun) storeEntry(ctx context.Context, entry string) *journal.Record {
	if a, ok := x.stored[entry]; ok {
		return a
	}
	sum, mime, size, err := x.identifyEntry(entry)
	if err != nil {
		x.problems = append(x.problems, err)
		x.stored[entry] = nil
		return nil
	}
	key := filekey.Build(x.w.Source.Watch, sum, entry)
	p := x.p
	start := p.j.Now()
	err = p.deps.Put(ctx, key, mime, size, func() (io.ReadCloser, error) {
		rc, err := x.src.OpenEntry(entry)
		if err != nil {
			return nil, err
		}
		return &verifying{rc: rc, h: sha256.New(), want: sum, entry: entry}, nil
	})
	p.deps.Observe("globalrelay", "put", start, err, size)
	if err != nil {
		switch o := p.deps.Gate.Judge(ctx, p.j.Now(), err); o.Verdict {
		case gate.Hold:
			x.problems = append(x.problems, fmt.Errorf("%s: archive refused the file: %w", entry, err))
			x.stored[entry] = nil
		case gate.Stop:
			x.halted, x.paused = true, true
		default:
			o.Paused(x.l, err, "file upload failed; archive paused until then")
			p.j.RetryLater(x.r.ID, journal.LaneConv, err, o.At)
			x.halted, x.paused = true, true
		}
		return nil
	}
	p.deps.Gate.Succeeded()
	a := &journal.Record{FileKey: key, SHA256: sum, MIME: mime, Size: size}
	x.stored[entry] = a
	return a
}

// identifyEntry reads an entry once: its SHA-256, MIME type and size.
func (x *exportRun) identifyEntry(entry string) (sum, mime string, size int64, err error) {
	rc, err := x.src.OpenEntry(entry)
	if err != nil {
		return "", "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	head := make([]byte, ondisk.SniffLen)
	n, err := io.ReadFull(rc, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", "", 0, err
	}
	h.Write(head[:n])
	rest, err := io.Copy(h, rc)
	if err != nil {
		return "", "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), mimetype.Detect(head[:n]).String(), int64(n) + rest, nil
}

// verifying reads an entry for its PUT and fails at its end if the bytes are not the ones
// its key was made from: a key never receives other bytes than its name says.
type verifying struct {
	rc    io.ReadCloser
	h     hash.Hash
	want  string
	entry string
}

func (v *verifying) Read(p []byte) (int, error) {
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	if errors.Is(err, io.EOF) && hex.EncodeToString(v.h.Sum(nil)) != v.want {
		return n, fmt.Errorf("%s: %w: its bytes changed since they were hashed", v.entry, ondisk.ErrChanged)
	}
	return n, err
}

func (v *verifying) Close() error { return v.rc.Close() }
