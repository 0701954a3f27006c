package journald

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

func TestIsStreamMatchesDeviceAndInode(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stream"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	cases := map[string]bool{
		fmt.Sprintf("%d:%d", st.Dev, st.Ino):   true,
		fmt.Sprintf("%d:%d", st.Dev, st.Ino+1): false, // inherited by a child whose stderr is elsewhere
		fmt.Sprintf("%d:%d", st.Dev+1, st.Ino): false,
		"":                                     false, "garbage": false,
	}
	for env, want := range cases {
		t.Setenv("JOURNAL_STREAM", env)
		if got := IsStream(f); got != want {
			t.Errorf("JOURNAL_STREAM=%q: IsStream %v, want %v", env, got, want)
		}
	}
}

func TestFieldName(t *testing.T) {
	for key, want := range map[string]string{
		"path": "PATH", "fileKey": "FILEKEY", "watch-name": "WATCH_NAME", "a.b c": "A_B_C",
		"message": "FIELD_MESSAGE", "priority": "FIELD_PRIORITY", "1st": "FIELD_1ST", "_x": "FIELD__X", "": "FIELD_",
		strings.Repeat("k", 80): strings.Repeat("K", 64),
	} {
		if got := FieldName(key); got != want {
			t.Errorf("FieldName(%q) = %q, want %q", key, got, want)
		}
	}
}

// journal is a stand-in for journald: a datagram socket in a scratch folder.
type journal struct {
	t    *testing.T
	path string
	conn *net.UnixConn
}

func listen(t *testing.T) *journal {
	t.Helper()
	path := filepath.Join(t.TempDir(), "socket")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &journal{t: t, path: path, conn: conn}
}

// receive returns the next entry's fields by name, reading the payload from a passed memfd
// when the datagram carries one (and then checking that it was sealed).
func (j *journal) receive() (map[string]string, bool) {
	j.t.Helper()
	buf, oob := make([]byte, 1<<20), make([]byte, 256)
	if err := j.conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		j.t.Fatal(err)
	}
	n, oobn, _, _, err := j.conn.ReadMsgUnix(buf, oob)
	if err != nil {
		j.t.Fatalf("no entry: %v", err)
	}
	payload, viaMemfd := buf[:n], false
	if oobn > 0 {
		payload, viaMemfd = j.memfdPayload(oob[:oobn]), true
	}
	fields, err := Parse(payload)
	if err != nil {
		j.t.Fatalf("parse %q: %v", payload, err)
	}
	m := map[string]string{}
	for _, f := range fields {
		if _, dup := m[f.Name]; dup {
			j.t.Errorf("field %s twice", f.Name)
		}
		m[f.Name] = f.Value
	}
	return m, viaMemfd
}

func (j *journal) memfdPayload(oob []byte) []byte {
	j.t.Helper()
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil || len(msgs) != 1 {
		j.t.Fatalf("control message: %v (%d)", err, len(msgs))
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		j.t.Fatalf("rights: %v (%d)", err, len(fds))
	}
	f := os.NewFile(uintptr(fds[0]), "memfd")
	defer f.Close()
	seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	if err != nil {
		j.t.Fatal(err)
	}
	if want := unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE | unix.F_SEAL_SEAL; seals&want != want {
		j.t.Errorf("memfd seals %#x, want %#x (journald refuses an unsealed memfd)", seals, want)
	}
	st, err := f.Stat()
	if err != nil {
		j.t.Fatal(err)
	}
	p := make([]byte, st.Size())
	if _, err := f.ReadAt(p, 0); err != nil {
		j.t.Fatal(err)
	}
	return p
}

func newLogger(socket string, fallback *bytes.Buffer) (*logrus.Logger, *Writer) {
	log := logrus.New()
	log.SetLevel(logrus.TraceLevel)
	log.SetFormatter(&Formatter{Identifier: "archivist"})
	w := newWriter(socket, fallback)
	log.SetOutput(w)
	return log, w
}

func TestEntriesReachTheJournalWithPriorityAndFields(t *testing.T) {
	j := listen(t)
	var fallback bytes.Buffer
	log, w := newLogger(j.path, &fallback)
	defer w.Close()

	log.WithFields(logrus.Fields{"path": "/srv/drop/a b.txt", "fileKey": "teams/a", "size": 42,
		"error": errors.New("upload: 503\nretry later"), "message": "not the MESSAGE"}).Warn("file held")
	got, viaMemfd := j.receive()
	if viaMemfd {
		t.Error("a small entry went through a memfd")
	}
	want := map[string]string{
		"MESSAGE":           `file held error="upload: 503\nretry later" fileKey=teams/a message="not the MESSAGE" path="/srv/drop/a b.txt" size=42`,
		"PRIORITY":          "4",
		"SYSLOG_IDENTIFIER": "archivist",
		"PATH":              "/srv/drop/a b.txt",
		"FILEKEY":           "teams/a",
		"SIZE":              "42",
		"ERROR":             "upload: 503\nretry later", // a line break: the length-prefixed framing
		"FIELD_MESSAGE":     "not the MESSAGE",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("entry\n got %q\nwant %q", got, want)
	}

	for level, priority := range map[logrus.Level]string{logrus.ErrorLevel: "3", logrus.InfoLevel: "6",
		logrus.DebugLevel: "7", logrus.TraceLevel: "7"} {
		log.Log(level, "at "+level.String())
		got, _ := j.receive()
		if got["PRIORITY"] != priority || got["MESSAGE"] != "at "+level.String() {
			t.Errorf("%s: PRIORITY=%s MESSAGE=%q, want %s", level, got["PRIORITY"], got["MESSAGE"], priority)
		}
	}
	if fallback.Len() != 0 {
		t.Errorf("wrote to the fallback although the journal answered: %q", fallback.String())
	}
}

func TestPriorityOfEveryLevel(t *testing.T) {
	want := map[logrus.Level]int{logrus.PanicLevel: 2, logrus.FatalLevel: 2, logrus.ErrorLevel: 3,
		logrus.WarnLevel: 4, logrus.InfoLevel: 6, logrus.DebugLevel: 7, logrus.TraceLevel: 7}
	for _, level := range logrus.AllLevels {
		if got := Priority(level); got != want[level] {
			t.Errorf("Priority(%s) = %d, want %d", level, got, want[level])
		}
	}
}

// An entry bigger than the socket's send buffer (4 MiB here, past any default wmem_max) is
// refused as a datagram, and must arrive whole through a sealed memfd.
func TestBigEntryGoesThroughASealedMemfd(t *testing.T) {
	j := listen(t)
	var fallback bytes.Buffer
	log, w := newLogger(j.path, &fallback)
	defer w.Close()
	big := strings.Repeat("x", 4<<20)
	log.WithField("transcript", big).Info("big")
	got, viaMemfd := j.receive()
	if !viaMemfd {
		t.Fatal("a 4 MiB entry arrived as a datagram; the memfd path was not exercised")
	}
	if got["TRANSCRIPT"] != big || got["PRIORITY"] != "6" {
		t.Errorf("big entry: TRANSCRIPT of %d bytes, PRIORITY %q", len(got["TRANSCRIPT"]), got["PRIORITY"])
	}
	if fallback.Len() != 0 {
		t.Errorf("wrote to the fallback: %d bytes", fallback.Len())
	}
}

// Without a journal socket (journald restarting, or a test), each entry still reaches the
// stream as one line that journald files under the right priority.
func TestFallbackLineWithPriorityPrefix(t *testing.T) {
	var fallback bytes.Buffer
	log, w := newLogger(filepath.Join(t.TempDir(), "no-socket"), &fallback)
	defer w.Close()
	log.WithField("path", "/srv/a").Error("upload failed\nafter retries")
	log.Debug("detail")
	want := "<3>upload failed after retries path=/srv/a\n<7>detail\n"
	if fallback.String() != want {
		t.Errorf("fallback\n got %q\nwant %q", fallback.String(), want)
	}
}

func TestParseRejectsBrokenPayloads(t *testing.T) {
	for _, p := range []string{"MESSAGE=no line break", "BIN\n\x05\x00", "BIN\n\xff\x00\x00\x00\x00\x00\x00\x00abc\n"} {
		if _, err := Parse([]byte(p)); err == nil {
			t.Errorf("Parse(%q): no error", p)
		}
	}
}
