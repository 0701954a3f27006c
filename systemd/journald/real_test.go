package journald

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

// realJournaldScript runs journald in a private mount namespace, on its own /run and
// /var/log, so that nothing reaches this machine's journal; $1 is the test binary, which logs
// as nobody: journald checks a memfd's seals only for senders other than root, and the daemon
// is not root. Stopping journald before journalctl reads makes sure every entry is on disk.
const realJournaldScript = `set -e
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /var/log
mkdir -p /run/systemd/journal
"$JOURNALD" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
i=0
until [ -S /run/systemd/journal/socket ]; do
	i=$((i+1)); [ $i -lt 100 ] || { echo "journald did not create its socket" >&2; exit 1; }
	sleep 0.05
done
cp "$1" /run/journald-test
chmod 755 /run/journald-test
shift
setpriv --reuid=65534 --regid=65534 --clear-groups /run/journald-test "$@" >&2
kill $pid; wait $pid || true
journalctl -D /run/log/journal -o json --all --no-pager SYSLOG_IDENTIFIER=archivist-test`

// TestRealJournaldAcceptsTheEntries sends entries to a real systemd-journald (a datagram with
// a multi-line field, and one of 5 MiB through a memfd) and reads them back with journalctl.
// It needs root, unshare and systemd's journald; it re-runs this test binary inside to log.
func TestRealJournaldAcceptsTheEntries(t *testing.T) {
	if os.Getenv("JOURNALD_TEST_LOG") == "1" {
		log := logrus.New()
		log.SetFormatter(&Formatter{Identifier: "archivist-test"})
		log.SetOutput(NewWriter(os.Stderr))
		log.WithFields(logrus.Fields{"path": "/srv/drop/a b.txt", "error": "two\nlines"}).Warn("file held")
		log.WithField("big", strings.Repeat("y", 5<<20)).Error("big entry")
		return
	}
	journald := ""
	for _, p := range []string{"/usr/lib/systemd/systemd-journald", "/lib/systemd/systemd-journald"} {
		if _, err := os.Stat(p); err == nil {
			journald = p
			break
		}
	}
	_, errUnshare := exec.LookPath("unshare")
	_, errJournalctl := exec.LookPath("journalctl")
	_, errSetpriv := exec.LookPath("setpriv")
	if os.Getuid() != 0 || journald == "" || errUnshare != nil || errJournalctl != nil || errSetpriv != nil {
		t.Skip("needs root, unshare, setpriv, journalctl and systemd-journald")
	}
	if err := exec.Command("unshare", "-m", "true").Run(); err != nil {
		t.Skipf("cannot make a mount namespace here: %v", err)
	}
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", realJournaldScript, "sh",
		os.Args[0], "-test.run=^TestRealJournaldAcceptsTheEntries$")
	cmd.Env = append(os.Environ(), "JOURNALD="+journald, "JOURNALD_TEST_LOG=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("journald in a mount namespace: %v\n%s", err, stderr.Bytes())
	}
	var entries []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("journalctl -o json: %v", err)
		}
		entries = append(entries, e)
	}
	if len(entries) != 2 {
		t.Fatalf("journal holds %d entries, want 2; logging side:\n%s", len(entries), stderr.Bytes())
	}
	held, big := entries[0], entries[1]
	if held["PRIORITY"] != "4" || held["MESSAGE"] != `file held error="two\nlines" path="/srv/drop/a b.txt"` ||
		held["PATH"] != "/srv/drop/a b.txt" || held["ERROR"] != "two\nlines" || held["_TRANSPORT"] != "journal" || held["_UID"] != "65534" {
		t.Errorf("first entry as journald stored it: %v", held)
	}
	if got, _ := big["BIG"].(string); big["PRIORITY"] != "3" || len(got) != 5<<20 {
		t.Errorf("big entry: PRIORITY %v, BIG of %d bytes (want 5 MiB through the memfd)", big["PRIORITY"], len(got))
	}
}
