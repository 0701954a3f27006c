package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/sandbox"
)

// The daemon serves the status page on loopback: a dropped file can be found by name and its
// history shows the upload and the event with their HTTP status.
func TestE2EStatusPage(t *testing.T) {
	e := newEnv(t, func(_ *sandbox.Options, v map[string]string) {
		v["extra"] = "status_page: {listen: '127.0.0.1:0', timezone: UTC}\n"
	})
	d := e.start()
	var page string
	await(t, 20*time.Second, "the status page's address in the log", func() bool {
		page = logField(d.output(), "status page", "url")
		return page != ""
	})
	content := []byte("1000 shares at 10.00\n")
	e.write("trades/confirmation-0001.txt", content)
	await(t, 20*time.Second, "the file archived", func() bool { return e.archived("confirmation-0001.txt", content) })
	await(t, 20*time.Second, "the search to find it", func() bool {
		return strings.Contains(get(t, page+"/search?q="+url.QueryEscape("confirmation-0001")), `href="/file/`)
	})
	body := get(t, page+"/search?q=confirmation-0001")
	i := strings.Index(body, `href="/file/`)
	id := body[i+len(`href="/file/`) : i+strings.Index(body[i:], `">`)]
	await(t, 20*time.Second, "the history to show the event", func() bool {
		h := get(t, page+"/file/"+id)
		return strings.Contains(h, "put (put)") && strings.Contains(h, "post (post)") && strings.Contains(h, `<td class="num">200</td>`)
	})
	if home := get(t, page+"/"); !strings.Contains(home, "<dt>Archived</dt><dd>1</dd>") {
		t.Errorf("the overview does not count the archived file:\n%s", home)
	}
	d.stop()
}

// A status page beyond loopback without authentication refuses to start, naming the key.
func TestE2EStatusPageRefusesOpenAddress(t *testing.T) {
	e := newEnv(t, func(_ *sandbox.Options, v map[string]string) { v["extra"] = "status_page: {listen: '0.0.0.0:0'}\n" })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "run", "--config", e.config).CombinedOutput()
	if err == nil || ctx.Err() != nil {
		t.Fatalf("started (%v):\n%s", err, out)
	}
	if !strings.Contains(string(out), "status_page.listen") || !strings.Contains(string(out), "not a loopback address") {
		t.Fatalf("the refusal does not name the key:\n%s", out)
	}
	if _, err := os.Stat(e.journal); err == nil {
		t.Error("a journal was created before the refusal")
	}
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d\n%s", u, resp.StatusCode, b)
	}
	return string(b)
}

// logField is field of the first JSON log line whose msg is msg ("" if none).
func logField(logs, msg, field string) string {
	for _, line := range strings.Split(logs, "\n") {
		var v map[string]any
		if json.Unmarshal([]byte(line), &v) == nil && v["msg"] == msg {
			return fmt.Sprint(v[field])
		}
	}
	return ""
}
