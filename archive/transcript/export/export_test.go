package export_test

import (
	"archive/zip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/transcript"
	"github.com/archivist-project/archivist/archive/transcript/export"
	"github.com/archivist-project/archivist/archive/transcript/export/exporttest"
)

func open(t *testing.T, root, rel string, opts export.Options) (export.Source, error) {
	t.Helper()
	f, err := os.Open(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return export.Open(f, fi.Size(), rel, export.RootFS(root), opts)
}

func walk(t *testing.T, s export.Source) (convs []string, events int) {
	t.Helper()
	err := s.Walk(context.Background(), func(c *transcript.Conversation) error {
		if len(convs) == 0 || convs[len(convs)-1] != c.ID {
			convs = append(convs, c.ID)
		}
		events += len(c.Events)
		return nil
	})
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	return convs, events
}

func TestOpenTellsTheFormatsApart(t *testing.T) {
	root := t.TempDir()
	if err := exporttest.WriteSlack(filepath.Join(root, "slack.zip"), 2); err != nil {
		t.Fatal(err)
	}
	if err := exporttest.WriteWhatsApp(filepath.Join(root, "WhatsApp Chat - Deal desk.zip")); err != nil {
		t.Fatal(err)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	opts := export.Options{Location: berlin}

	s, err := open(t, root, "slack.zip", opts)
	if err != nil || s.Format() != export.Slack {
		t.Fatalf("slack.zip: %v, %v", s, err)
	}
	convs, n := walk(t, s)
	if len(convs) != 3 || n != exporttest.SlackMessages(2) {
		t.Errorf("slack: conversations %v, %d events; want 3 and %d", convs, n, exporttest.SlackMessages(2))
	}

	s, err = open(t, root, "WhatsApp Chat - Deal desk.zip", opts)
	if err != nil || s.Format() != export.WhatsApp {
		t.Fatalf("whatsapp zip: %v, %v", s, err)
	}
	if _, n := walk(t, s); n != exporttest.WhatsAppMessages {
		t.Errorf("whatsapp: %d events, want %d", n, exporttest.WhatsAppMessages)
	}
	if _, err := open(t, root, "WhatsApp Chat - Deal desk.zip", export.Options{}); !errors.Is(err, export.ErrNoTimezone) ||
		!strings.Contains(err.Error(), "timezone:") {
		t.Errorf("whatsapp without a zone: %v, want ErrNoTimezone naming timezone:", err)
	}
}

func TestOpenLeavesOtherZipsAlone(t *testing.T) {
	root := t.TempDir()
	f, err := os.Create(filepath.Join(root, "photos.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, _ := zw.Create("a.txt")
	w.Write([]byte("hello"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := open(t, root, "photos.zip", export.Options{}); !errors.Is(err, export.ErrNotExport) {
		t.Errorf("a ZIP of photos: %v, want ErrNotExport", err)
	}
	os.WriteFile(filepath.Join(root, "broken.zip"), []byte("PK\x03\x04 not really"), 0o644)
	_, err = open(t, root, "broken.zip", export.Options{})
	if err == nil || errors.Is(err, export.ErrNotExport) || !strings.Contains(err.Error(), "broken.zip") {
		t.Errorf("a broken ZIP: %v, want an error naming it", err)
	}
}

func TestCandidate(t *testing.T) {
	for rel, want := range map[string]bool{
		"a/export.zip": true, "x.ZIP": true, "desk.teams.json": true, "WhatsApp Chat with Ann.txt": true,
		"notes.txt": false, "a.transcript.json": false, "report.pdf": false,
	} {
		if got := export.Candidate(rel); got != want {
			t.Errorf("Candidate(%q) = %v, want %v", rel, got, want)
		}
	}
}
