package main

// The floor of the small-file workload: the work the invariants require of every file, done
// with the daemon's own code and nothing else. Per file, as the upload lane does it: the
// checked open beneath the root (invariant 5), the version's stat before and after the read
// (invariant 6), the read with its SHA-256 and MIME sniff and the content key built from them
// (invariant 2), the PUT through the daemon's Global Relay client (bearer token, transport),
// and, only after its 200, its File_transfer event, in requests at least as full as the
// daemon's (invariant 3). Left out: the journal (invariants 1 and 4), the watcher and its
// settle, the log. The daemon cannot beat this run on the same machine; the
// gap between the two is what the journal and the watcher cost, and the gap between this run
// and the raw loop is what the invariants themselves cost. Like raw-put it runs as a child of
// the bench ("archivist-bench floor-put ..."), measured from outside.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/archivist-project/archivist/archive/events"
	"github.com/archivist-project/archivist/archive/filekey"
	"github.com/archivist-project/archivist/archive/globalrelay"
	"github.com/archivist-project/archivist/archive/ondisk"
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher/beneath"
)

// floorPutCommand is the child: it lists the files first, then times from the first open to
// the last accepted event.
func floorPutCommand(args []string) error {
	fs := flag.NewFlagSet("archivist-bench floor-put", flag.ContinueOnError)
	base := fs.String("url", "", "the sandbox's root URL (the API is …/v2, the token endpoint …/oauth2/token)")
	concurrency := fs.Int("concurrency", 4, "PUTs in flight; twice as many goroutines open and read, as the daemon's workers")
	maxEvents := fs.Int("max-events", 100, "events per request at most (the daemon's max_events_per_request)")
	path := fs.String("path", "", "a folder whose regular files are all sent")
	if err := fs.Parse(args); err != nil {
		return err
	}
	files, err := listFiles(*path)
	if err != nil {
		return err
	}
	root, err := beneath.OpenRoot(*path)
	if err != nil {
		return err
	}
	defer root.Close()
	client, err := globalrelay.New(globalrelay.Options{BaseURL: *base + "/v2", TokenURL: *base + "/oauth2/token", Credentials: benchCreds,
		HTTPClient: globalrelay.NewHTTPClient(false, 2*time.Minute, *concurrency+2)})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if _, err := client.Token(ctx); err != nil { // the daemon has its token before the burst too
		return err
	}
	f := &floor{root: root, client: client, slots: make(chan struct{}, *concurrency),
		src: events.Source{Watch: watchName, SenderName: "Bench export", SenderEmail: "bench@example.com"}}

	work := make(chan string)
	uploaded := make(chan *journal.Record, len(files))
	var workers sync.WaitGroup
	start := time.Now()
	for range 2 * *concurrency {
		workers.Go(func() {
			for p := range work {
				rel, err := filepath.Rel(*path, p)
				if err == nil {
					var r *journal.Record
					if r, err = f.upload(ctx, filepath.ToSlash(rel), start); err == nil {
						uploaded <- r
					}
				}
				f.fail(err)
			}
		})
	}
	var poster sync.WaitGroup
	posted := 0
	poster.Go(func() { posted = f.post(ctx, uploaded, *maxEvents) })
	for _, p := range files {
		work <- p
	}
	close(work)
	workers.Wait()
	close(uploaded)
	poster.Wait()
	elapsed := time.Since(start)
	if f.err != nil {
		return f.err
	}
	if posted != len(files) {
		return fmt.Errorf("%d events accepted for %d files", posted, len(files))
	}
	return reportAndWait(rawResult{Files: len(files), Bytes: f.bytes, Seconds: elapsed.Seconds()})
}

// floor is the state the floor's goroutines share.
type floor struct {
	root   *beneath.Root
	client *globalrelay.Client
	src    events.Source
	slots  chan struct{} // PUTs in flight

	mu    sync.Mutex
	err   error // the first failure
	bytes int64
}

func (f *floor) fail(err error) {
	if err == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

// upload does what the upload lane does for one small file and returns the record its event
// is built from.
func (f *floor) upload(ctx context.Context, rel string, discovered time.Time) (*journal.Record, error) {
	file, err := f.root.Open(rel)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	fi, err := beneath.Fstat(file)
	if err != nil {
		return nil, err
	}
	v := ondisk.VersionOf(fi)
	r := &journal.Record{Watch: watchName, Path: journal.RelPath(rel), Kind: v.Kind, Size: v.Size, ModTime: v.ModTime,
		CTime: v.Change, Birth: v.Birth, Inode: v.Inode, Dev: v.Dev, DiscoveredAt: discovered}
	if r.Size > ondisk.SmallMax {
		return nil, fmt.Errorf("%s: %d bytes; the floor reads small files only (at most %d)", rel, r.Size, ondisk.SmallMax)
	}
	data, sum, mime, err := ondisk.ReadSmall(file, r.Size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	if err := ondisk.SameVersion(file, r); err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	r.SHA256, r.MIME, r.FileKey = sum, mime, filekey.Build(watchName, sum, rel)
	f.slots <- struct{}{}
	err = f.client.PutFile(ctx, r.FileKey, mime, r.Size, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	<-f.slots
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.bytes += r.Size
	f.mu.Unlock()
	return r, nil
}

// postLinger is how long the first uploaded file waits for others to join its request. The
// daemon's events become due a commit of uploads at a time (the upload lane's committer
// lingers as long, archive/upload), so its requests are mostly full; without the wait, a
// poster faster than the PUTs sends a request of one or two events each time.
const postLinger = 50 * time.Millisecond

// post sends the events of uploaded files: a request once max are waiting, the linger has
// passed, or the uploads are done. It returns how many events were accepted.
func (f *floor) post(ctx context.Context, uploaded <-chan *journal.Record, max int) int {
	posted := 0
	for r := range uploaded {
		batch := []*journal.Record{r}
		linger := time.NewTimer(postLinger)
	fill:
		for len(batch) < max {
			select {
			case r, ok := <-uploaded:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			case <-linger.C:
				break fill
			}
		}
		linger.Stop()
		if _, err := f.client.PostConversation(ctx, events.Loose(benchType, f.src, batch)); err != nil {
			f.fail(err)
			continue
		}
		posted += len(batch)
	}
	return posted
}

// reportAndWait prints a child's result on stdout, then waits for stdin to close: the parent
// reads the child's VmHWM from /proc meanwhile, while the child still exists.
func reportAndWait(res rawResult) error {
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		return fmt.Errorf("wait for the parent: %w", err)
	}
	return nil
}
