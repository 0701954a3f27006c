package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/sandbox"
)

// A held file reaches a loopback webhook as a file_held notification, through the real binary.
func TestE2ENotifiesAHeldFile(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var v map[string]any
		if json.Unmarshal(b, &v) == nil {
			mu.Lock()
			got = append(got, v)
			mu.Unlock()
		}
	}))
	defer hook.Close()
	e := newEnv(t, func(_ *sandbox.Options, v map[string]string) {
		v["extra"] = "notify: {webhook_url: '" + hook.URL + "/archivist'}\n"
	})
	d := e.start()
	if err := os.Symlink("/etc/hostname", filepath.Join(e.inbox, "latest.pdf")); err != nil {
		t.Fatal(err)
	}
	await(t, 20*time.Second, "a file_held notification", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, v := range got {
			if v["event"] == "file_held" && v["path"] == "latest.pdf" && v["watch"] == "teams" && v["reason"] != "" {
				return true
			}
		}
		return false
	})
	d.stop()
}
