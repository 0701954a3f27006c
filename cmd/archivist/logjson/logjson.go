// Package logjson formats log lines as JSON byte for byte as logrus.JSONFormatter does, without
// its map copy, reflection and key sort for the lines the daemon writes most (one per archived
// file: strings and numbers). A line with a value of any other type, or a field named like one
// logrus adds itself, is formatted by logrus.JSONFormatter.
package logjson

import (
	"bytes"
	"reflect"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sirupsen/logrus"
)

// Formatter is logrus.JSONFormatter with the timestamp format given, HTML escaping on, no
// field map, data key, caller or indentation: the daemon's JSON log format. It keeps that
// formatter for the lines it does not write itself, and its timestamp format.
type Formatter struct {
	slow logrus.JSONFormatter
}

// New returns the formatter writing timestamps in layout (time.RFC3339 if empty, as logrus).
func New(layout string) *Formatter {
	if layout == "" {
		layout = time.RFC3339
	}
	return &Formatter{slow: logrus.JSONFormatter{TimestampFormat: layout}}
}

// Format implements logrus.Formatter.
func (f *Formatter) Format(e *logrus.Entry) ([]byte, error) {
	keys, ok := fastKeys(e)
	if !ok {
		return f.slow.Format(e)
	}
	b := e.Buffer
	if b == nil {
		b = new(bytes.Buffer)
	}
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, k)
		b.WriteByte(':')
		switch k {
		case logrus.FieldKeyLevel:
			writeString(b, e.Level.String())
		case logrus.FieldKeyMsg:
			writeString(b, e.Message)
		case logrus.FieldKeyTime: // no layout of a time needs escaping
			b.WriteByte('"')
			b.Write(e.Time.AppendFormat(b.AvailableBuffer(), f.slow.TimestampFormat))
			b.WriteByte('"')
		default:
			writeValue(b, e.Data[k])
		}
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// fastKeys returns the line's keys in encoding/json's order (sorted), or false if the line
// needs logrus's own formatter: a field that clashes with one logrus adds, a value of a type
// writeValue does not know, a caller to report, or an error logrus recorded on the entry.
func fastKeys(e *logrus.Entry) ([]string, bool) {
	if e.Caller != nil || entryErr(e) {
		return nil, false
	}
	keys := make([]string, 0, len(e.Data)+3)
	for k, v := range e.Data {
		switch k {
		case logrus.FieldKeyTime, logrus.FieldKeyMsg, logrus.FieldKeyLevel, logrus.FieldKeyLogrusError:
			return nil, false
		}
		if !simple(v) {
			return nil, false
		}
		keys = append(keys, k)
	}
	keys = append(keys, logrus.FieldKeyLevel, logrus.FieldKeyMsg, logrus.FieldKeyTime)
	slices.Sort(keys)
	return keys, true
}

// entryErr reports whether logrus recorded an error on the entry (a field it could not add),
// which its formatter writes as "logrus_error". The field is unexported; reading it through
// reflect keeps this formatter's lines the same as logrus's in that case too.
func entryErr(e *logrus.Entry) bool {
	if errField == nil {
		return true // not a logrus this was written for: its formatter then
	}
	return reflect.ValueOf(e).Elem().FieldByIndex(errField).String() != ""
}

var errField = func() []int {
	f, ok := reflect.TypeFor[logrus.Entry]().FieldByName("err")
	if !ok || f.Type.Kind() != reflect.String {
		return nil
	}
	return f.Index
}()

func simple(v any) bool {
	switch v.(type) {
	case string, error, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, time.Duration:
		return true
	}
	return false
}

// writeValue writes v, one of the types simple accepts, as encoding/json does.
func writeValue(b *bytes.Buffer, v any) {
	var buf [24]byte
	switch v := v.(type) {
	case string:
		writeString(b, v)
	case error:
		writeString(b, v.Error())
	case bool:
		b.Write(strconv.AppendBool(buf[:0], v))
	default: // an integer: a built-in type, or time.Duration, none with a JSON method of its own
		if rv := reflect.ValueOf(v); rv.CanInt() {
			b.Write(strconv.AppendInt(buf[:0], rv.Int(), 10))
		} else {
			b.Write(strconv.AppendUint(buf[:0], rv.Uint(), 10))
		}
	}
}

const hex = "0123456789abcdef"

// writeString writes s as encoding/json does with HTML escaping on: control characters,
// quotes, backslashes, <, > and & escaped, invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func writeString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\b':
				b.WriteString(`\b`)
			case '\f':
				b.WriteString(`\f`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(s[start:i])
			b.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b.WriteString(s[start:i])
			b.WriteString(`\u202`)
			b.WriteByte(hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}
