package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/identity"
	"github.com/archivist-project/archivist/config"
	"github.com/archivist-project/archivist/journal"
)

func TestIdentitiesSetPutsTheDirectoryInForceAndPrunesWhomItResolves(t *testing.T) {
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if err := j.NoteUnresolved([]journal.Unresolved{{Source: "slack", ID: "U1"}, {Source: "whatsapp", ID: "+4401"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	h := &identities{j: j, log: log}
	if h.Current() != nil {
		t.Fatal("a directory before any Set")
	}
	h.Set(nil) // no directory configured: nothing resolved
	if n, _ := j.UnresolvedCount(); n != 2 {
		t.Fatalf("count %d after an empty directory, want 2", n)
	}
	d, err := identity.Parse("people.csv", strings.NewReader("source,id,email,name\nWhatsApp,+4401,kim@example.com,Kim\n"))
	if err != nil {
		t.Fatal(err)
	}
	h.Set(d)
	if h.Current() != d {
		t.Error("Current is not the directory Set put in force")
	}
	got, err := j.Unresolved()
	if err != nil || len(got) != 1 || got[0].ID != "U1" {
		t.Errorf("after Set: %+v, %v; want only slack U1", got, err)
	}
}

func TestLoadIdentitiesNamesKeyFileAndLine(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "people.csv")
	if err := os.WriteFile(p, []byte("source,id,email,name\nslack,U1,,Ann\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d, err := loadIdentities(&config.Config{}); d != nil || err != nil {
		t.Errorf("not configured: %v, %v; want nil, nil", d, err)
	}
	_, err := loadIdentities(&config.Config{Identities: p})
	if err == nil || !strings.HasPrefix(err.Error(), "identities: "+p+":2: email") {
		t.Errorf("bad row: %v", err)
	}
	if err := checkConfig(&config.Config{Identities: p, Journal: filepath.Join(dir, "j.db")}); err == nil || !strings.Contains(err.Error(), p+":2:") {
		t.Errorf("checkConfig does not check the directory: %v", err)
	}
}

func TestPipelineWatchesCarryTheChatClock(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	ws := pipelineWatches(&config.Config{Watches: []config.Watch{{Name: "phones", Location: berlin, DateOrder: "dmy"}, {Name: "plain"}}})
	if ws[0].Location != berlin || ws[0].DateOrder != "dmy" || ws[1].Location != nil || ws[1].DateOrder != "" {
		t.Errorf("watches: %+v", ws)
	}
}

func TestUnresolvedCSVIsADirectoryToFillIn(t *testing.T) {
	var b bytes.Buffer
	err := writeUnresolvedCSV(&b, []journal.Unresolved{{Source: "slack", ID: "U1", Name: "Ann \"A\" Lee"}, {Source: "teams", ID: "0f-1"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "source,id,email,name\nslack,U1,,\"Ann \"\"A\"\" Lee\"\nteams,0f-1,,\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	// Once the emails are filled in, the rows parse as a directory.
	filled := strings.Replace(strings.Replace(b.String(), "U1,,", "U1,ann@example.com,", 1), "0f-1,,", "0f-1,t@example.com,", 1)
	d, err := identity.Parse("filled.csv", strings.NewReader(filled))
	if err != nil || d.Len() != 2 {
		t.Errorf("filled CSV: %v, %d entries", err, d.Len())
	}
}
