package archive

import (
	"strings"
	"testing"

	"github.com/archivist-project/archivist/journal"
)

// A reload that removes a watch puts its work off for an hour; the reload that adds it back
// must resume that work at once, not after the hour.
func TestWatchAddedBackResumesItsWorkAtOnce(t *testing.T) {
	h := newHarness(t)
	teams := h.po.Watches
	h.p.SetWatches(nil) // a reload removed the watch
	h.drop("report.pdf", pdf)
	h.start(nil)
	id := h.record("report.pdf").ID
	await(t, "the work to be put off", func() bool {
		r, err := h.j.Get(id)
		return err == nil && strings.Contains(r.LastError, "not configured")
	})
	h.p.SetWatches(teams) // the next reload adds it back
	h.awaitState(id, journal.Posted)
}
