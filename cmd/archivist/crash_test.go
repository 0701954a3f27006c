package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/sandbox"
	"github.com/archivist-project/archivist/journal"
)

// kill ends the daemon with SIGKILL: no drain, no deferred commit, nothing.
func (d *daemon) kill() {
	d.t.Helper()
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
}

// TestE2ECrashAtRandomMoments kills the real binary with SIGKILL at random moments while files
// keep arriving (and the archive fails some requests), restarts it each time, and then checks
// the invariants of DESIGN.md on the end state.
func TestE2ECrashAtRandomMoments(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test in -short mode")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	e := newEnv(t, func(so *sandbox.Options, vars map[string]string) {
		vars["settle"] = "150ms"
		so.Faults = sandbox.Faults{FailRate: 0.05, Rate429: 0.03, RetryAfter: 100 * time.Millisecond}
	})

	// The writer drops files, some into folders it creates, some rewritten in place.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		wrng := rand.New(rand.NewPCG(seed, 1))
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(wrng.IntN(20)) * time.Millisecond):
			}
			rel := fmt.Sprintf("batch-%02d/file-%04d.bin", i/25, i)
			if i%10 == 9 { // rewrite an earlier file with new content
				rel = fmt.Sprintf("batch-%02d/file-%04d.bin", (i-5)/25, i-5)
			}
			content := make([]byte, 1+wrng.IntN(64<<10))
			for j := range content {
				content[j] = byte(wrng.Uint32())
			}
			p := filepath.Join(e.inbox, filepath.FromSlash(rel))
			os.MkdirAll(filepath.Dir(p), 0o755)
			// Written under a temporary name and renamed, as export jobs do, so every version
			// that appears under the final name is complete.
			os.WriteFile(p+".part", content, 0o644)
			os.Rename(p+".part", p)
		}
	}()

	kills := 12
	for range kills {
		d := e.start()
		time.Sleep(time.Duration(100+rng.IntN(700)) * time.Millisecond)
		d.kill()
	}
	close(stop)
	wg.Wait()

	// The last run, without faults, must bring everything to its end state.
	e.sb.SetFaults(sandbox.Faults{})
	d := e.start()
	onDisk := filesOnDisk(t, e.inbox)
	await(t, 2*time.Minute, "every file on disk archived", func() bool {
		for rel, content := range onDisk {
			if !e.archived(filepath.Base(rel), content) {
				return false
			}
		}
		return true
	})
	d.stop()

	// Invariant 2: every stored key holds exactly the bytes its hash names.
	for _, f := range e.sb.Files() {
		b, err := os.ReadFile(e.sb.FilePath(f.Key))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if !strings.Contains(f.Key, "/"+hex.EncodeToString(sum[:])+"/") {
			t.Errorf("key %s holds bytes with sha256 %x", f.Key, sum)
		}
	}
	// Invariant 3: every accepted event references a stored key.
	for _, c := range e.sb.Conversations() {
		var conv struct {
			Events []struct {
				Files []struct{ FileKey string } `json:"files"`
			} `json:"conversationEvents"`
		}
		json.Unmarshal(c.Raw, &conv)
		for _, ev := range conv.Events {
			for _, f := range ev.Files {
				if _, ok := e.sb.File(f.FileKey); !ok {
					t.Errorf("request %d references %s, never stored", c.Seq, f.FileKey)
				}
			}
		}
	}
	// Invariant 1 and the journal: nothing left half-done, nothing unexplained.
	j, err := journal.Open(e.journal, journal.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if err := j.Check(); err != nil {
		t.Fatal(err)
	}
	j.Each(func(r *journal.Record) bool {
		switch r.State {
		case journal.Posted, journal.Superseded:
		default:
			t.Errorf("record %s ended %s (%s)", r, r.State, r.Reason)
		}
		return true
	})
	// Bounded work: crashes repeat at most the requests that were in flight.
	st := e.sb.Stats()
	versions := 0
	j.Each(func(r *journal.Record) bool {
		if r.State == journal.Posted && r.DuplicateOf == 0 {
			versions++
		}
		return true
	})
	if st.Puts > versions+kills*8 {
		t.Errorf("%d accepted PUTs for %d archived versions over %d crashes", st.Puts, versions, kills)
	}
	t.Logf("%d files on disk, %d versions archived, %d PUTs, %d event requests, %d faults injected",
		len(onDisk), versions, st.Puts, st.Posts, st.FaultsInjected)
}

// filesOnDisk reads every regular file below root that the watcher would archive.
func filesOnDisk(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() || strings.HasSuffix(p, ".part") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = b
		return nil
	})
	return out
}
