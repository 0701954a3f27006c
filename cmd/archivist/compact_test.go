package main

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/config"
	"github.com/archivist-project/archivist/journal"
)

// With audit_retention_days set, the daemon removes old detail on its schedule by itself.
func TestAuditRetentionRunsOnSchedule(t *testing.T) {
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	old := time.Now().AddDate(0, 0, -40)
	recs, err := j.Insert([]*journal.Record{{Watch: "teams", Path: "a.pdf", Kind: "file", State: journal.Discovered,
		Lanes: map[string]time.Time{journal.LanePut: old}}}, []journal.Entry{{Time: old, Step: "discovered", Result: "ok"}})
	if err != nil {
		t.Fatal(err)
	}
	err = j.Update(recs[0].ID, func(r *journal.Record) ([]journal.Entry, error) {
		if err := r.Move(journal.Uploaded); err != nil {
			return nil, err
		}
		if err := r.Move(journal.Posted); err != nil {
			return nil, err
		}
		r.Lanes = nil
		return []journal.Entry{{Time: old, Step: "put", Result: "error", Status: 503}, {Time: old, Step: "post", Result: "ok"}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, days := range []int{0, 30} {
		stop := scheduleAuditRetention(ctx, &config.Config{AuditRetentionDays: days}, "@every 1s", j, log)
		if days == 0 {
			stop()
			continue
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			trail, err := j.Audit(recs[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(trail) == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the failed attempt is still there: %+v", trail)
			}
			time.Sleep(20 * time.Millisecond)
		}
		stop()
	}
	if _, err := j.VerifyChain(); err != nil {
		t.Fatal(err)
	}
}
