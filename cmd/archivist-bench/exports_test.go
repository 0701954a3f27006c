package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/transcript"
	"github.com/archivist-project/archivist/archive/transcript/slack"
	"github.com/archivist-project/archivist/archive/transcript/teams"
	"github.com/archivist-project/archivist/archive/transcript/whatsapp"
)

// The export workloads wait for one accepted event per message: each generated export must
// read, with the project's own readers, as exactly that many events and no problem.

func openForRead(t *testing.T, p string) (*os.File, int64) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return f, fi.Size()
}

func TestGeneratedSlackExportIsOneEventPerMessage(t *testing.T) {
	p := filepath.Join(t.TempDir(), "export.zip")
	const messages, channels = 2345, 7
	if err := writeSlackExport(p, messages, channels, 40); err != nil {
		t.Fatal(err)
	}
	f, size := openForRead(t, p)
	x, err := slack.Open(f, size, "export.zip", slack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	events, files, convs := 0, 0, map[string]bool{}
	err = x.Walk(context.Background(), func(d *slack.Day) error {
		convs[d.Conversation.Key] = true
		for _, e := range d.Events {
			events++
			for _, fr := range e.Files {
				if fr.Entry == "" {
					t.Errorf("%s: file %s not taken from __uploads", e.Key, fr.Name)
				}
				files++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if events != messages || files != 40 || len(convs) != channels {
		t.Fatalf("%d events, %d files, %d conversations; want %d, 40, %d", events, files, len(convs), messages, channels)
	}
}

func TestGeneratedWhatsAppExportIsOneEventPerMessage(t *testing.T) {
	p := filepath.Join(t.TempDir(), "WhatsApp Chat - Bench desk.zip")
	const messages = 3001
	if err := writeWhatsAppExport(p, messages); err != nil {
		t.Fatal(err)
	}
	f, size := openForRead(t, p)
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	c, err := whatsapp.OpenZip(f, size, filepath.Base(p), whatsapp.Options{Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	events := 0
	err = c.Walk(context.Background(), func(b *whatsapp.Batch) error {
		for _, e := range b.Events {
			if e.Type != transcript.EventMessage {
				t.Errorf("%s: type %s", e.Key, e.Type)
			}
		}
		events += len(b.Events)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if events != messages || c.DateOrder() != whatsapp.OrderDMY {
		t.Fatalf("%d events, date order %q; want %d, dmy", events, c.DateOrder(), messages)
	}
}

func TestGeneratedTeamsExportIsOneEventPerMessage(t *testing.T) {
	p := filepath.Join(t.TempDir(), "desk-chat.teams.json")
	const messages = 2500
	if err := writeTeamsExport(p, messages); err != nil {
		t.Fatal(err)
	}
	f, _ := openForRead(t, p)
	events := 0
	err := teams.Read(context.Background(), f, filepath.Base(p), teams.Options{}, func(b *teams.Batch) error {
		events += len(b.Events)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if events != messages {
		t.Fatalf("%d events; want %d", events, messages)
	}
}
