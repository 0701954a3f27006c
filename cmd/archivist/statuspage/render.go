package statuspage

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"bytes": humanBytes,
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.Format("2006-01-02 15:04:05 MST")
	},
	"day":  func(t time.Time) string { return t.Format("2006-01-02") },
	"last": func(per Period) time.Time { return per.To.AddDate(0, 0, -1) },
	"dur":  func(d time.Duration) string { return d.Round(time.Second).String() },
}).ParseFS(templateFS, "templates/*.html"))

// render writes the page name inside the layout; data is its map. A template error is a
// bug, answered 500 with nothing half written.
func (p *Page) render(w http.ResponseWriter, r *http.Request, name string, data map[string]any) {
	if u, ok := r.Context().Value(userKey{}).(string); ok {
		data["User"] = u
	}
	data["Page"] = name
	data["Generated"] = p.o.Now().In(p.o.Location)
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w) // the client went away: nothing left to tell it
}
