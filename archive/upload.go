package archive

import (
	"context"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/archivist-project/archivist/archive/transcript/slack"
	"github.com/archivist-project/archivist/archive/upload"
	"github.com/archivist-project/archivist/journal"
)

// initUpload builds the upload lane.
func (p *Pipeline) initUpload() {
	p.uploader = upload.New(upload.Deps{
		Journal: p.jr, Gate: p.gate, Workers: p.o.Workers, MaxFileSize: p.o.MaxFileSize, Backoff: p.o.Backoff,
		Put: func(ctx context.Context, key, contentType string, size int64, open func() (io.ReadCloser, error)) error {
			return p.gr.PutFile(ctx, key, contentType, size, open)
		},
		Root: func(watch string) (string, bool) {
			w, ok := p.watch(watch)
			return w.Root, ok
		},
		Park: p.parkUnconfigured, Recheck: p.o.Recheck, Observe: p.observe, Refuse: tokenBearing, Identified: p.ids.take,
		Uploaded: func(r *journal.Record, now time.Time) {
			w, _ := p.watch(r.Watch)
			p.afterUpload(w, r, now)
		},
		Posted: func(r *journal.Record) {
			w, _ := p.watch(r.Watch)
			p.maybeDispose(w, r)
		},
		Done: func() {
			p.poster.Wake()
			p.wakeFollowers()
		},
	})
}

// tokenBearing is why the file f of record r must not be uploaded as it is, or "": a Slack
// workspace export's JSON carries the export's access token (in every file URL), and a
// token never reaches the archive. Only a transcripts watch reads an export, in place (its
// records are never uploaded, so this sees a files watch's ZIPs and a transcripts watch's
// loose ones).
func tokenBearing(r *journal.Record, f *os.File) string {
	if !strings.EqualFold(path.Ext(string(r.Path)), ".zip") || !slack.Recognize(f, r.Size) {
		return ""
	}
	return "a Slack workspace export: its JSON carries the export's access token, so it is not uploaded " +
		"as a file; move it to a watch with mode: transcripts, which archives its messages without the token"
}
