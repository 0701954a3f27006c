package evidence_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/archivist-project/archivist/cmd/archivist/evidence"
)

func TestDailyReportWrittenSignedAndListed(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(t.TempDir(), "k")
	pub, err := evidence.GenerateKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := evidence.LoadPrivateKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	rep := &evidence.DailyReport{Day: "2026-03-09", Timezone: "UTC", From: from, To: from.AddDate(0, 0, 1), Generated: from.Add(24*time.Hour + 15*time.Minute),
		Total: evidence.Counts{Discovered: 3, Archived: 2, Held: 1}, Watches: map[string]*evidence.Counts{"trades": {Discovered: 3, Archived: 2, Held: 1}}}
	rep.Reconciliation.Unexplained, rep.Reconciliation.Examples = 1, []string{"trades:lost.pdf"}
	path, err := evidence.WriteDaily(dir, rep, priv)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sig, err := os.ReadFile(path + ".sig")
	if err != nil {
		t.Fatal(err)
	}
	st, err := evidence.Verify(pub, f, sig)
	if err != nil || st.Kind != "reconciliation-report" || st.Counts["unexplained"] != 1 || st.Counts["archived"] != 2 {
		t.Fatalf("verify: %+v, %v", st, err)
	}
	if _, err := evidence.WriteDaily(dir, &evidence.DailyReport{Day: "2026-03-08", From: from.AddDate(0, 0, -1), To: from}, nil); err != nil {
		t.Fatal(err)
	}
	files, err := evidence.ListDaily(dir)
	if err != nil || len(files) != 2 || files[0].Day != "2026-03-09" || !files[0].Signed || files[1].Signed {
		t.Fatalf("list %+v, %v", files, err)
	}
	back, err := evidence.ReadDaily(dir, "2026-03-09")
	if err != nil || back.Format != evidence.DailyFormat || back.Watches["trades"].Held != 1 {
		t.Fatalf("read %+v, %v", back, err)
	}
	if _, err := evidence.ReadDaily(dir, "../../etc/passwd"); err == nil {
		t.Error("a day that is a path was read")
	}
}
