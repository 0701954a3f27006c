// Package statuspage is the daemon's read-only status page for compliance officers:
// server-rendered HTML with no external assets and no script, over the same journal and
// control service the operator commands use. Nothing it serves changes the journal: it is
// handed read-only views only (Source, Records), and it answers nothing but GET and HEAD.
package statuspage

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/archivist-project/archivist/cmd/archivist/control"
	"github.com/archivist-project/archivist/cmd/archivist/evidence"
	"github.com/archivist-project/archivist/journal"
)

// Source is the read-only part of the control service the page shows.
type Source interface {
	Status(ctx context.Context) (*control.Status, error)
	Queue(ctx context.Context, f control.Filter) ([]control.Item, error)
	Show(ctx context.Context, ref string) (*control.Detail, error)
	Report(ctx context.Context, w io.Writer, q control.ReportQuery) error
}

// Records walks the journal's records, read-only (journal.DB.Each).
type Records interface {
	Each(fn func(r *journal.Record) bool) error
}

// Options configure a page.
type Options struct {
	Source  Source
	Records Records
	// Location is the time zone days and hours are counted in; nil means time.Local.
	Location *time.Location
	// Auth authenticates every request; nil serves without authentication (loopback only:
	// Listen refuses anything else).
	Auth Authenticator
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ReportsDir is daily_report.folder, whose daily reconciliation reports the page lists
	// and shows; "" when there is none.
	ReportsDir string
}

// Page serves the status page.
type Page struct {
	o   Options
	mux *http.ServeMux
}

// maxSearchResults bounds one search's answer.
const maxSearchResults = 200

// New returns the page's handler.
func New(o Options) *Page {
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	p := &Page{o: o, mux: http.NewServeMux()}
	p.mux.HandleFunc("GET /{$}", p.overview)
	p.mux.HandleFunc("GET /held", p.held)
	p.mux.HandleFunc("GET /search", p.search)
	p.mux.HandleFunc("GET /file/{id}", p.file)
	p.mux.HandleFunc("GET /reports", p.reports)
	p.mux.HandleFunc("GET /reports/{day}", p.daily)
	p.mux.HandleFunc("GET /report.csv", p.report("csv"))
	p.mux.HandleFunc("GET /report.json", p.report("json"))
	return p
}

func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the status page is read-only", http.StatusMethodNotAllowed)
		return
	}
	if p.o.Auth != nil {
		user, ok := p.o.Auth.Authenticate(r)
		if !ok {
			p.o.Auth.Challenge(w)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), userKey{}, user))
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	p.mux.ServeHTTP(w, r)
}

type userKey struct{}

// period reads ?from=YYYY-MM-DD&to=YYYY-MM-DD (both days included); the default is today.
// Period is a span of whole days.
type Period = evidence.Period

func (p *Page) period(r *http.Request) (Period, error) {
	loc := p.o.Location
	now := p.o.Now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	per := Period{From: today, To: today.AddDate(0, 0, 1)}
	q := r.URL.Query()
	parse := func(name string) (time.Time, bool, error) {
		v := strings.TrimSpace(q.Get(name))
		if v == "" {
			return time.Time{}, false, nil
		}
		t, err := time.ParseInLocation("2006-01-02", v, loc)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("%s=%q: want a date such as %s", name, v, today.Format("2006-01-02"))
		}
		return t, true, nil
	}
	from, okFrom, err := parse("from")
	if err != nil {
		return per, err
	}
	to, okTo, err := parse("to")
	if err != nil {
		return per, err
	}
	if okFrom {
		per.From = from
		if !okTo {
			per.To = from.AddDate(0, 0, 1)
		}
	}
	if okTo {
		per.To = to.AddDate(0, 0, 1)
	}
	if !per.To.After(per.From) {
		return per, fmt.Errorf("the period ends before it starts")
	}
	return per, nil
}

func (p *Page) stats(per Period) (*evidence.Tally, error) {
	s := evidence.NewTally(per)
	err := p.o.Records.Each(func(r *journal.Record) bool {
		s.Add(r)
		return true
	})
	return s, err
}

func (p *Page) overview(w http.ResponseWriter, r *http.Request) {
	per, perr := p.period(r)
	st, err := p.o.Source.Status(r.Context())
	if err != nil {
		p.fail(w, r, err)
		return
	}
	stats, err := p.stats(per)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, "overview", map[string]any{
		"Title": "Archive status", "Status": st, "Held": st.Counts[journal.Held], "Period": per, "PeriodError": errText(perr),
		"Stats": stats, "Chart": chartSVG(stats.Hours),
		"CSV": template.URL("/report.csv?" + periodQuery(per)), "JSON": template.URL("/report.json?" + periodQuery(per)),
	})
}

func (p *Page) held(w http.ResponseWriter, r *http.Request) {
	items, err := p.o.Source.Queue(r.Context(), control.Filter{State: journal.Held})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	type row struct {
		control.Item
		Advice string
	}
	rows := make([]row, len(items))
	for i, it := range items {
		rows[i] = row{it, advice(it)}
	}
	p.render(w, r, "held", map[string]any{"Title": "Held files", "Items": rows})
}

func (p *Page) search(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	var found []control.Item
	more := false
	if q != "" {
		match := matcher(q)
		err := p.o.Records.Each(func(rec *journal.Record) bool {
			if match(rec) {
				if len(found) == maxSearchResults {
					more = true
					return false
				}
				found = append(found, control.ItemOf(rec))
			}
			return true
		})
		if err != nil {
			p.fail(w, r, err)
			return
		}
	}
	p.render(w, r, "search", map[string]any{"Title": "Search", "Q": q, "Found": found, "More": more, "Max": maxSearchResults})
}

// matcher finds records by SHA-256 (64 hex digits), fileKey, path or file name (a
// case-insensitive substring of either).
func matcher(q string) func(*journal.Record) bool {
	lq := strings.ToLower(q)
	return func(r *journal.Record) bool {
		return r.SHA256 == lq || r.FileKey == q || strings.Contains(strings.ToLower(string(r.Path)), lq) ||
			strings.Contains(strings.ToLower(r.Watch+":"+string(r.Path)), lq)
	}
}

func (p *Page) file(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	d, err := p.o.Source.Show(r.Context(), strconv.FormatUint(id, 10))
	if errors.Is(err, journal.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, "file", map[string]any{"Title": fmt.Sprintf("File #%d", id), "D": d, "Advice": advice(control.ItemOf(d.Record))})
}

func (p *Page) reports(w http.ResponseWriter, r *http.Request) {
	data := map[string]any{"Title": "Daily reconciliation reports", "Configured": p.o.ReportsDir != ""}
	if p.o.ReportsDir != "" {
		files, err := evidence.ListDaily(p.o.ReportsDir)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		data["Files"] = files
	}
	p.render(w, r, "reports", data)
}

func (p *Page) daily(w http.ResponseWriter, r *http.Request) {
	if p.o.ReportsDir == "" {
		http.NotFound(w, r)
		return
	}
	rep, err := evidence.ReadDaily(p.o.ReportsDir, r.PathValue("day"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			http.NotFound(w, r)
			return
		}
		p.fail(w, r, err)
		return
	}
	p.render(w, r, "daily", map[string]any{"Title": "Reconciliation of " + rep.Day, "R": rep})
}

func (p *Page) report(format string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		per, err := p.period(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		name := fmt.Sprintf("custody-%s-to-%s.%s", per.From.Format("2006-01-02"), per.To.AddDate(0, 0, -1).Format("2006-01-02"), format)
		ctype := map[string]string{"csv": "text/csv; charset=utf-8", "json": "application/json"}[format]
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		if err := p.o.Source.Report(r.Context(), w, control.ReportQuery{Since: per.From, Until: per.To, Format: format}); err != nil {
			p.fail(w, r, err)
		}
	}
}

func (p *Page) fail(w http.ResponseWriter, r *http.Request, err error) {
	w.WriteHeader(http.StatusInternalServerError)
	p.render(w, r, "error", map[string]any{"Title": "Error", "Error": err.Error()})
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func periodQuery(per Period) string {
	return "from=" + per.From.Format("2006-01-02") + "&to=" + per.To.AddDate(0, 0, -1).Format("2006-01-02")
}
