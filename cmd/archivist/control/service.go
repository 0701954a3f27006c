package control

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/archivist-project/archivist/archive"
	"github.com/archivist-project/archivist/journal"
)

// API is what the commands need, served by the daemon (Client) or done on the journal
// directly (Service).
type API interface {
	Status(ctx context.Context) (*Status, error)
	Queue(ctx context.Context, f Filter) ([]Item, error)
	Show(ctx context.Context, ref string) (*Detail, error)
	Retry(ctx context.Context, r RetryRequest) (*RetryResult, error)
	Dismiss(ctx context.Context, r DismissRequest) (*DismissResult, error)
	Reconcile(ctx context.Context, verify bool) (*archive.Summary, error)
	Report(ctx context.Context, w io.Writer, q ReportQuery) error
	Unresolved(ctx context.Context) ([]journal.Unresolved, error)
}

var (
	_ API = (*Service)(nil)
	_ API = (*Client)(nil)
)

// ErrNotRunning is returned for operations only the running daemon can do.
var ErrNotRunning = errors.New("the daemon is not running")

// Pipeline is what the service needs from the running daemon's pipeline.
type Pipeline interface {
	Health() archive.Health
	JournalHealth() archive.Health
	Wake()
	Reconcile(ctx context.Context, staleAfter time.Duration, requeue bool, verify int) (*archive.Summary, error)
}

// WatchInfo describes one configured watch.
type WatchInfo struct {
	Name string `json:"name"`
	Path string `json:"path"`
	Mode string `json:"mode"`
}

// Service answers the commands from the journal (and the pipeline, when the daemon runs).
type Service struct {
	J          *journal.DB
	P          Pipeline // nil when the daemon is not running
	Version    string
	Started    time.Time
	StaleAfter time.Duration // pending longer than this counts as stale; default 1h
	// Extra adds daemon-only details to a status (destination health of forwards, watcher
	// state); nil offline.
	Extra func(*Status)

	mu      sync.Mutex
	watches []WatchInfo

	reportFault func() error // tests: fails the report after a row
}

// whyNotReleased says why retrying record id did nothing.
func (s *Service) whyNotReleased(id uint64) (string, error) {
	r, err := s.J.Get(id)
	if err != nil {
		return "", err
	}
	switch {
	case r.State == journal.Held && r.Kind != "file":
		return fmt.Sprintf("#%d is held because it is a %s, which archivist never opens (%s): retrying cannot change that; replace it with a regular file (archived as a new record)", id, r.Kind, r.Reason), nil
	case r.State == journal.Posted:
		return fmt.Sprintf("#%d is archived already (posted %s): nothing to retry", id, r.PostedAt.Format(time.RFC3339)), nil
	}
	return fmt.Sprintf("#%d is %s with no work pending: nothing to retry", id, r.State), nil
}

// Status is the overview `archivist status` prints.
type Status struct {
	Running            bool                      `json:"running"`
	Version            string                    `json:"version,omitempty"`
	Started            time.Time                 `json:"started,omitzero"`
	Journal            string                    `json:"journal"`
	ChainHead          string                    `json:"chainHead,omitempty"`    // the audit chain's newest link (archivist verify)
	ChainEntries       uint64                    `json:"chainEntries,omitempty"` // audit entries in the chain
	Watches            []WatchInfo               `json:"watches"`
	Counts             map[journal.State]int64   `json:"counts"`
	Lanes              map[string]int            `json:"lanes"`
	Settling           int                       `json:"settling"` // files the watcher waits on to settle (daemon only)
	Destinations       map[string]archive.Health `json:"destinations,omitempty"`
	JournalHealth      *archive.Health           `json:"journalHealth,omitempty"`
	LastReconciliation *archive.Summary          `json:"lastReconciliation,omitempty"`
	OldestPending      *Item                     `json:"oldestPending,omitempty"`
	Quarantined        int                       `json:"quarantined,omitempty"` // records that cannot be decoded, out of the work
	// Unresolved is how many chat participants were archived under a fallback address
	// (archivist identities unresolved lists them).
	Unresolved int `json:"unresolvedParticipants"`
	// LastReconciliationError says why the stored summary could not be read.
	LastReconciliationError string `json:"lastReconciliationError,omitempty"`
}

// Item is one record as the queue lists it.
type Item struct {
	ID           uint64               `json:"id"`
	Watch        string               `json:"watch"`
	Path         string               `json:"path"`
	Size         int64                `json:"size"`
	State        journal.State        `json:"state"`
	Reason       string               `json:"reason,omitempty"`
	LastError    string               `json:"lastError,omitempty"`
	Attempts     int                  `json:"attempts,omitempty"`
	FileKey      string               `json:"fileKey,omitempty"`
	DiscoveredAt time.Time            `json:"discoveredAt"`
	Lanes        map[string]time.Time `json:"lanes,omitempty"`
}

func itemOf(r *journal.Record) Item {
	return Item{ID: r.ID, Watch: r.Watch, Path: string(r.Path), Size: r.Size, State: r.State, Reason: r.Reason,
		LastError: r.LastError, Attempts: r.Attempts, FileKey: r.FileKey, DiscoveredAt: r.DiscoveredAt, Lanes: r.Lanes}
}

// Filter selects queue items. The zero value lists everything not yet archived.
type Filter struct {
	State       journal.State `json:"state,omitempty"`
	Watch       string        `json:"watch,omitempty"`
	Destination string        `json:"destination,omitempty"` // items with work pending for this forward destination
	All         bool          `json:"all,omitempty"`         // include archived (posted) and finished records
	Limit       int           `json:"limit,omitempty"`
}

// Detail is one record with its whole audit trail.
type Detail struct {
	Record *journal.Record `json:"record"`
	Audit  []journal.Entry `json:"audit"`
}

// RetryRequest names what to try again.
type RetryRequest struct {
	ID          uint64 `json:"id,omitempty"`
	AllHeld     bool   `json:"allHeld,omitempty"`
	Destination string `json:"destination,omitempty"`
}

// RetryResult says how many records were put back to work.
type RetryResult struct {
	Released int `json:"released"`
	// NotReleased says, for a record named by id, why nothing was done (it is not held and has
	// no work pending, or it is held for what retrying cannot cure).
	NotReleased string `json:"notReleased,omitempty"`
}

// ReportQuery bounds a chain-of-custody report by discovery time.
type ReportQuery struct {
	Since  time.Time `json:"since,omitzero"`
	Until  time.Time `json:"until,omitzero"`
	Format string    `json:"format"` // csv (default) or json
}

// SetWatches replaces the watches the service reports (on start and reload).
func (s *Service) SetWatches(ws []WatchInfo) {
	s.mu.Lock()
	s.watches = ws
	s.mu.Unlock()
}

func (s *Service) watchList() []WatchInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.watches
}

func (s *Service) staleAfter() time.Duration {
	if s.StaleAfter <= 0 {
		return time.Hour
	}
	return s.StaleAfter
}

// Status gathers the overview.
func (s *Service) Status(ctx context.Context) (*Status, error) {
	counts, err := s.J.Counts()
	if err != nil {
		return nil, err
	}
	lanes, err := s.J.LaneCounts()
	if err != nil {
		return nil, err
	}
	for _, state := range journal.States { // every state, 0 included: one object of the same keys
		if _, ok := counts[state]; !ok {
			counts[state] = 0
		}
	}
	st := &Status{Running: s.P != nil, Version: s.Version, Started: s.Started, Journal: s.J.Path(),
		Watches: s.watchList(), Counts: counts, Lanes: lanes}
	if s.P != nil {
		st.Destinations = map[string]archive.Health{"globalrelay": s.P.Health()}
		jh := s.P.JournalHealth()
		st.JournalHealth = &jh
	}
	if st.ChainHead, st.ChainEntries, err = s.J.ChainHead(); err != nil {
		return nil, err
	}
	if st.LastReconciliation, err = archive.LastReconciliation(s.J); err != nil {
		st.LastReconciliationError = err.Error()
	}
	if st.Quarantined, err = s.J.QuarantineCount(); err != nil {
		return nil, err
	}
	if st.Unresolved, err = s.J.UnresolvedCount(); err != nil {
		return nil, err
	}
	var oldest *journal.Record
	for lane := range lanes {
		it, ok, err := s.J.LookupFirstDue(lane)
		if err != nil {
			return nil, err
		}
		if !ok || lane == journal.LaneLoose {
			continue
		}
		if r, err := s.J.Get(it.ID); err == nil && (oldest == nil || r.DiscoveredAt.Before(oldest.DiscoveredAt)) {
			oldest = r
		}
	}
	if oldest != nil {
		it := itemOf(oldest)
		st.OldestPending = &it
	}
	if s.Extra != nil {
		s.Extra(st)
	}
	return st, nil
}

// Queue lists records like mailq: by default everything not archived yet.
func (s *Service) Queue(ctx context.Context, f Filter) ([]Item, error) {
	var out []Item
	err := s.J.Each(func(r *journal.Record) bool {
		if ctx.Err() != nil {
			return false
		}
		switch {
		case f.Watch != "" && r.Watch != f.Watch:
			return true
		case f.Destination != "":
			// The forwards to this destination that are not done: pending or held.
			fw := r.Forwards[f.Destination]
			if fw == nil || (fw.State != journal.ForwardPending && fw.State != journal.ForwardHeld && !f.All) {
				return true
			}
		case f.State != "" && r.State != f.State:
			return true
		case f.State == "" && !f.All && len(r.Lanes) == 0 && r.State != journal.Held:
			return true
		}
		out = append(out, itemOf(r))
		return f.Limit <= 0 || len(out) < f.Limit
	})
	return out, err
}

// Show finds a record by id ("12" or "#12"), by "watch:path", or by an absolute path below a
// watch, and returns it with its audit trail.
func (s *Service) Show(ctx context.Context, ref string) (*Detail, error) {
	id, err := s.resolve(ref)
	if err != nil {
		return nil, err
	}
	r, err := s.J.Get(id)
	if err != nil {
		return nil, err
	}
	trail, err := s.J.Audit(id)
	if err != nil {
		return nil, err
	}
	return &Detail{Record: r, Audit: trail}, nil
}

func (s *Service) resolve(ref string) (uint64, error) {
	if n, err := strconv.ParseUint(strings.TrimPrefix(ref, "#"), 10, 64); err == nil {
		return n, nil
	}
	if filepath.IsAbs(ref) {
		for _, w := range s.watchList() {
			if rel, err := filepath.Rel(w.Path, ref); err == nil && !strings.HasPrefix(rel, "..") {
				fp, ok, err := s.J.Current(w.Name, filepath.ToSlash(rel))
				if err != nil {
					return 0, err
				}
				if ok {
					return fp.ID, nil
				}
			}
		}
		return 0, fmt.Errorf("%s: no record of this path", ref)
	}
	if watch, rel, ok := strings.Cut(ref, ":"); ok {
		fp, ok, err := s.J.Current(watch, rel)
		if err != nil {
			return 0, err
		}
		if ok {
			return fp.ID, nil
		}
	}
	return 0, fmt.Errorf("%q: not a record id, watch:path or absolute path of a recorded file", ref)
}

// Retry puts held records (or one record) back to work and wakes the daemon.
func (s *Service) Retry(ctx context.Context, req RetryRequest) (*RetryResult, error) {
	now := time.Now()
	res := &RetryResult{}
	switch {
	case req.Destination != "":
		ids := []uint64{req.ID}
		if req.ID == 0 {
			ids = nil
			err := s.J.Each(func(r *journal.Record) bool {
				if f := r.Forwards[req.Destination]; f != nil && f.State == journal.ForwardHeld {
					ids = append(ids, r.ID)
				}
				return true
			})
			if err != nil {
				return nil, err
			}
		}
		for _, id := range ids {
			ok, err := s.J.ReleaseForward(id, req.Destination, "operator: archivist retry --destination "+req.Destination, now)
			if err != nil {
				return nil, err
			}
			if ok {
				res.Released++
			}
		}
	case req.ID != 0:
		ok, err := s.J.Release(req.ID, "operator: archivist retry", now)
		if err != nil {
			return nil, err
		}
		if ok {
			res.Released = 1
		} else if res.NotReleased, err = s.whyNotReleased(req.ID); err != nil {
			return nil, err
		}
	case req.AllHeld:
		n, err := s.J.ReleaseHeld("operator: archivist retry --all-held", now, nil)
		if err != nil {
			return nil, err
		}
		res.Released = n
	default:
		return nil, errors.New("name a record id or --all-held")
	}
	if s.P != nil {
		s.P.Wake()
	}
	return res, nil
}

// Reconcile runs a reconciliation now; it needs the running daemon (its watcher requeues).
// With verify, every archived file is read again and its SHA-256 compared with the archive's.
func (s *Service) Reconcile(ctx context.Context, verify bool) (*archive.Summary, error) {
	if s.P == nil {
		return nil, ErrNotRunning
	}
	n := 0
	if verify {
		n = archive.VerifyAll
	}
	return s.P.Reconcile(ctx, s.staleAfter(), true, n)
}

// reportColumns are the chain-of-custody report's columns, in order.
var reportColumns = []string{"id", "watch", "path", "size", "sha256", "mime", "file_key", "state", "reason",
	"discovered_at", "uploaded_at", "posted_at", "request_id", "duplicate_of", "forwarded"}

// Report writes the chain-of-custody report: one row per file version discovered in the
// period, with its identity, key, every step's time and its final state. CSV has one line
// per file under a header; JSON is one array of objects with typed values (numbers as
// numbers, times as RFC 3339, absent values left out), written as it is read.
func (s *Service) Report(ctx context.Context, w io.Writer, q ReportQuery) error {
	format := q.Format
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "json" {
		return fmt.Errorf("report format %q: want csv or json", format)
	}
	out := newReportWriter(w, format)
	var werr error
	err := s.J.Each(func(r *journal.Record) bool {
		if ctx.Err() != nil {
			werr = ctx.Err()
			return false
		}
		if (!q.Since.IsZero() && r.DiscoveredAt.Before(q.Since)) || (!q.Until.IsZero() && !r.DiscoveredAt.Before(q.Until)) {
			return true
		}
		werr = out.write(r)
		if werr == nil && s.reportFault != nil {
			werr = s.reportFault()
		}
		return werr == nil
	})
	return errors.Join(err, werr, out.close(err == nil && werr == nil))
}

// ReportRow is one file of the JSON custody report. Its names are those of the rest of the
// control API's JSON (status, queue, show: camelCase, fileKey, discoveredAt); the CSV's
// columns keep their snake_case header.
type ReportRow struct {
	ID           uint64            `json:"id"`
	Watch        string            `json:"watch"`
	Path         string            `json:"path"`
	Size         int64             `json:"size"`
	SHA256       string            `json:"sha256,omitempty"`
	MIME         string            `json:"mime,omitempty"`
	FileKey      string            `json:"fileKey,omitempty"`
	State        journal.State     `json:"state"`
	Reason       string            `json:"reason,omitempty"`
	DiscoveredAt time.Time         `json:"discoveredAt"`
	UploadedAt   time.Time         `json:"uploadedAt,omitzero"`
	PostedAt     time.Time         `json:"postedAt,omitzero"`
	RequestID    string            `json:"requestId,omitempty"`
	DuplicateOf  uint64            `json:"duplicateOf,omitempty"`
	Forwarded    map[string]string `json:"forwarded,omitempty"` // destination -> forward state
}

func reportObject(r *journal.Record) ReportRow {
	row := ReportRow{ID: r.ID, Watch: r.Watch, Path: strings.ToValidUTF8(string(r.Path), "\uFFFD"), Size: r.Size, SHA256: r.SHA256,
		MIME: r.MIME, FileKey: r.FileKey, State: r.State, Reason: r.Reason, DiscoveredAt: r.DiscoveredAt.UTC(),
		UploadedAt: r.UploadedAt.UTC(), PostedAt: r.PostedAt.UTC(), RequestID: r.RequestID, DuplicateOf: r.DuplicateOf}
	for name, f := range r.Forwards {
		if row.Forwarded == nil {
			row.Forwarded = map[string]string{}
		}
		row.Forwarded[name] = f.State
	}
	return row
}

// reportWriter writes report rows as CSV or as one JSON array.
type reportWriter struct {
	w    io.Writer
	csv  *csv.Writer
	rows int
}

func newReportWriter(w io.Writer, format string) *reportWriter {
	rw := &reportWriter{w: w}
	if format == "csv" {
		rw.csv = csv.NewWriter(w)
	}
	return rw
}

func (rw *reportWriter) write(r *journal.Record) error {
	defer func() { rw.rows++ }()
	if rw.csv != nil {
		if rw.rows == 0 {
			if err := rw.csv.Write(reportColumns); err != nil {
				return err
			}
		}
		return rw.csv.Write(reportRow(r))
	}
	b, err := json.Marshal(reportObject(r))
	if err != nil {
		return err
	}
	sep := ",\n"
	if rw.rows == 0 {
		sep = "[\n"
	}
	_, err = io.WriteString(rw.w, sep+string(b))
	return err
}

// close ends the report; complete says whether every row was written (an array is closed
// either way, so that what was written still parses).
func (rw *reportWriter) close(complete bool) error {
	if rw.csv != nil {
		if rw.rows == 0 {
			if err := rw.csv.Write(reportColumns); err != nil {
				return err
			}
		}
		rw.csv.Flush()
		return rw.csv.Error()
	}
	end := "\n]\n"
	if rw.rows == 0 {
		end = "[]\n"
	}
	_, err := io.WriteString(rw.w, end)
	return err
}

func reportRow(r *journal.Record) []string {
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	dup := ""
	if r.DuplicateOf != 0 {
		dup = strconv.FormatUint(r.DuplicateOf, 10)
	}
	var fwd []string
	for name, f := range r.Forwards {
		fwd = append(fwd, name+"="+f.State)
	}
	slices.Sort(fwd)
	return []string{strconv.FormatUint(r.ID, 10), r.Watch, strings.ToValidUTF8(string(r.Path), "\uFFFD"), strconv.FormatInt(r.Size, 10),
		r.SHA256, r.MIME, r.FileKey, string(r.State), r.Reason, ts(r.DiscoveredAt), ts(r.UploadedAt), ts(r.PostedAt),
		r.RequestID, dup, strings.Join(fwd, " ")}
}

// ItemOf is the queue's view of a record, for other views of the journal (the status page).
func ItemOf(r *journal.Record) Item { return itemOf(r) }

// Unresolved lists the chat participants archived under a fallback address.
func (s *Service) Unresolved(ctx context.Context) ([]journal.Unresolved, error) {
	return s.J.Unresolved()
}
