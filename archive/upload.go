package archive

import (
	"context"
	"io"
	"time"

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
		Park: p.parkUnconfigured, Recheck: p.o.Recheck, Observe: p.observe, Identified: p.ids.take,
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
