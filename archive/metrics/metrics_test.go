package metrics

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/archivist-project/archivist/journal"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

func TestUnresolvedParticipantsAreExported(t *testing.T) {
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	m := New(Sources{Journal: j})
	if body := scrape(t, m); !strings.Contains(body, "\narchivist_unresolved_participants 0\n") {
		t.Errorf("no zero gauge:\n%s", body)
	}
	err = j.NoteUnresolved([]journal.Unresolved{{Source: "slack", ID: "U1"}, {Source: "teams", ID: "T1"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if body := scrape(t, m); !strings.Contains(body, "\narchivist_unresolved_participants 2\n") {
		t.Errorf("gauge not 2:\n%s", body)
	}
}
