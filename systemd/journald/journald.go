package journald

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// IsStream reports whether f is the stream that systemd connected to the journal: $JOURNAL_STREAM
// holds "device:inode" of that stream, and a child that inherited the variable but has another
// standard error (a pipe, a terminal) must not take its output for the journal's.
func IsStream(f *os.File) bool {
	dev, ino, ok := strings.Cut(os.Getenv("JOURNAL_STREAM"), ":")
	if !ok {
		return false
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return dev == strconv.FormatUint(st.Dev, 10) && ino == strconv.FormatUint(st.Ino, 10)
}

// Priority is the syslog priority journald files an entry of level under. Panic and fatal
// are 2 (crit), not 0 (emerg): journald broadcasts emergencies to every terminal, which is
// meant for a system that is unusable, not for one daemon ending.
func Priority(level logrus.Level) int {
	switch level {
	case logrus.PanicLevel, logrus.FatalLevel:
		return 2
	case logrus.ErrorLevel:
		return 3
	case logrus.WarnLevel:
		return 4
	case logrus.InfoLevel:
		return 6
	default: // debug, trace
		return 7
	}
}

// Formatter turns a logrus entry into one native-protocol payload, for a Writer to send.
// MESSAGE is the entry's message followed by its fields as key=value (what `journalctl -u`
// shows); each field is also a journal field of its own, named by FieldName.
type Formatter struct {
	// Identifier is SYSLOG_IDENTIFIER, the name journalctl shows for the line; "" omits it
	// (journalctl then shows the command name).
	Identifier string
}

var _ logrus.Formatter = (*Formatter)(nil)

// Format implements logrus.Formatter.
func (f *Formatter) Format(e *logrus.Entry) ([]byte, error) {
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	msg := strings.Builder{}
	msg.WriteString(e.Message)
	values := make([]string, len(keys))
	for i, k := range keys {
		values[i] = fieldValue(e.Data[k])
		fmt.Fprintf(&msg, " %s=%s", k, quoteIfNeeded(values[i]))
	}
	var b bytes.Buffer
	appendField(&b, "MESSAGE", msg.String())
	appendField(&b, "PRIORITY", strconv.Itoa(Priority(e.Level)))
	if f.Identifier != "" {
		appendField(&b, "SYSLOG_IDENTIFIER", f.Identifier)
	}
	if e.HasCaller() {
		appendField(&b, "CODE_FILE", e.Caller.File)
		appendField(&b, "CODE_LINE", strconv.Itoa(e.Caller.Line))
		appendField(&b, "CODE_FUNC", e.Caller.Function)
	}
	for i, k := range keys {
		appendField(&b, FieldName(k), values[i])
	}
	return b.Bytes(), nil
}

func fieldValue(v any) string {
	if err, ok := v.(error); ok {
		return err.Error()
	}
	return fmt.Sprint(v)
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\r\n\"=\\") || !strconv.CanBackquote(s) {
		return strconv.Quote(s)
	}
	return s
}

// reserved are the journal fields Formatter sets itself; a logrus field of such a name is
// renamed rather than allowed to overwrite them.
var reserved = map[string]bool{"MESSAGE": true, "MESSAGE_ID": true, "PRIORITY": true, "SYSLOG_IDENTIFIER": true,
	"SYSLOG_FACILITY": true, "SYSLOG_PID": true, "SYSLOG_TIMESTAMP": true, "CODE_FILE": true, "CODE_LINE": true,
	"CODE_FUNC": true, "ERRNO": true, "TID": true}

// FieldName is the journal field a logrus field key becomes: upper case, every character
// other than A-Z, 0-9 and '_' replaced by '_', prefixed with "FIELD_" when it would start
// with anything but a letter or name a field this package sets, and cut at 64 characters.
func FieldName(key string) string {
	name := []byte(strings.ToUpper(key))
	for i, c := range name {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			name[i] = '_'
		}
	}
	s := string(name)
	if s == "" || s[0] < 'A' || s[0] > 'Z' || reserved[s] {
		s = "FIELD_" + s
	}
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// appendField frames one field: NAME=value\n, or, for a value with a line break, NAME\n then
// the value's length as a little-endian uint64, the value and \n.
func appendField(b *bytes.Buffer, name, value string) {
	b.WriteString(name)
	if !strings.ContainsRune(value, '\n') {
		b.WriteByte('=')
		b.WriteString(value)
		b.WriteByte('\n')
		return
	}
	b.WriteByte('\n')
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(value)))
	b.Write(n[:])
	b.WriteString(value)
	b.WriteByte('\n')
}
