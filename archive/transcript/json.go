package transcript

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The formats are validated from a small JSON tree instead of json.Unmarshal into structs:
// every value keeps its JSON path, so each problem can be reported as "$.events[3].time: ..."
// (encoding/json names neither the path of an unknown field nor that of a duplicate key),
// duplicate keys can be refused (json.Unmarshal silently keeps the last one, which would let
// `{"path":"a.pdf","path":"../../x"}` mean different things to different readers), and
// invalid UTF-8 can be refused instead of silently replaced with U+FFFD.

// maxDepth bounds nesting; the formats need 5 levels, so anything deep is hostile.
const maxDepth = 32

// maxValues bounds the values of one document, and with it the tree's memory (about 150
// bytes a value): a MaxTranscriptSize file of real messages holds well under a million, a
// hostile one of "1,1,1,..." eight times as many.
const maxValues = 1 << 20

type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

func (k kind) String() string {
	switch k {
	case kindNull:
		return "null"
	case kindBool:
		return "boolean"
	case kindNumber:
		return "number"
	case kindString:
		return "string"
	case kindArray:
		return "array"
	default:
		return "object"
	}
}

// value is one parsed JSON value and the JSON path it was found at. It is kept small (one
// 96-byte allocation plus its path) because a transcript may hold a million of them.
type value struct {
	kind  kind
	bool  bool
	path  string
	str   string   // kindString: the string; kindNumber: the literal as written
	keys  []string // kindObject: member names, in document order, parallel to elems
	elems []*value // kindArray: the elements; kindObject: the member values
}

// raw returns the member key of an object as written (possibly null), or nil.
func (v *value) raw(key string) *value {
	for i, k := range v.keys {
		if k == key {
			return v.elems[i]
		}
	}
	return nil
}

// get returns the member key of an object, or nil if it is absent or null: the formats treat
// an explicit null like an absent member, because exporters written with "omitempty"-less
// encoders write null for "not set".
func (v *value) get(key string) *value {
	m := v.raw(key)
	if m == nil || m.kind == kindNull {
		return nil
	}
	return m
}

// parseTranscript is what every JSON format's Parse starts with: the transcript's folder
// (attachments are relative to it) and its parsed JSON.
func parseTranscript(relPath string, data []byte) (dir string, root *value, err error) {
	if dir, err = transcriptDir(relPath); err != nil {
		return "", nil, err
	}
	if root, err = parseJSON(relPath, data); err != nil {
		return "", nil, err
	}
	return dir, root, nil
}

// parseJSON parses data (one JSON value, optionally preceded by a UTF-8 byte order mark) into
// a tree. Errors are *Error for file, with the JSON path of the innermost value or container
// being read and the line and column of the problem. It accepts exactly what encoding/json
// accepts (FuzzJSON checks that), less invalid UTF-8, duplicate keys and deep nesting.
//
// It is a small recursive-descent parser rather than json.Decoder.Token, which costs about a
// microsecond per token: a hostile 64 MiB transcript would tie a worker up for a minute.
func parseJSON(file string, data []byte) (*value, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		off := invalidUTF8Offset(data)
		return nil, invalidf(file, "$", "invalid JSON at %s: invalid UTF-8", position(data, int64(off)))
	}
	p := &jsonParser{file: file, data: data}
	v, err := p.value("$", 0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(data) {
		return nil, p.fail("$", p.pos, "unexpected data after the top-level value")
	}
	return v, nil
}

type jsonParser struct {
	file   string
	data   []byte
	pos    int
	values int
}

func (p *jsonParser) fail(path string, at int, format string, args ...any) error {
	return invalidf(p.file, path, "invalid JSON at %s: %s", position(p.data, int64(at)), fmt.Sprintf(format, args...))
}

// unexpected reports the byte at p.pos, or the end of the input.
func (p *jsonParser) unexpected(path, context string) error {
	if p.pos >= len(p.data) {
		return p.fail(path, p.pos, "unexpected end of input")
	}
	r, _ := utf8.DecodeRune(p.data[p.pos:])
	return p.fail(path, p.pos, "invalid character %s %s", quoteChar(r), context)
}

// quoteChar renders a character the way encoding/json's syntax errors do.
func quoteChar(r rune) string {
	switch r {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	q := strconv.Quote(string(r))
	return "'" + q[1:len(q)-1] + "'"
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\r', '\n':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(path string, depth int) (*value, error) {
	p.skipSpace()
	if depth > maxDepth {
		return nil, invalidf(p.file, path, "nested deeper than %d levels at %s", maxDepth, position(p.data, int64(p.pos)))
	}
	if p.values++; p.values > maxValues {
		return nil, invalidf(p.file, path, "more than %d JSON values at %s; split the transcript", maxValues, position(p.data, int64(p.pos)))
	}
	if p.pos >= len(p.data) {
		return nil, p.unexpected(path, "")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(path, depth)
	case c == '[':
		return p.array(path, depth)
	case c == '"':
		s, err := p.string(path)
		if err != nil {
			return nil, err
		}
		return &value{kind: kindString, path: path, str: s}, nil
	case c == '-' || c >= '0' && c <= '9':
		return p.number(path)
	case c == 't':
		return p.literal(path, "true", &value{kind: kindBool, path: path, bool: true})
	case c == 'f':
		return p.literal(path, "false", &value{kind: kindBool, path: path})
	case c == 'n':
		return p.literal(path, "null", &value{kind: kindNull, path: path})
	default:
		return nil, p.unexpected(path, "looking for beginning of value")
	}
}

func (p *jsonParser) object(path string, depth int) (*value, error) {
	v := &value{kind: kindObject, path: path}
	p.pos++ // {
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return v, nil
	}
	var keys keyIndex
	for {
		if err := p.member(v, &keys, depth); err != nil {
			return nil, err
		}
		more, err := p.separator('}', path, "after object key:value pair")
		if err != nil {
			return nil, err
		}
		if !more {
			return v, nil
		}
	}
}

// member reads one key:value pair into object v, refusing a key v has already.
func (p *jsonParser) member(v *value, keys *keyIndex, depth int) error {
	p.skipSpace()
	if p.pos >= len(p.data) || p.data[p.pos] != '"' {
		return p.unexpected(v.path, "looking for beginning of object key string")
	}
	keyAt := p.pos
	key, err := p.string(v.path)
	if err != nil {
		return err
	}
	mpath := memberPath(v.path, key)
	if keys.has(v, key) {
		return invalidf(p.file, mpath, "duplicate key at %s", position(p.data, int64(keyAt)))
	}
	p.skipSpace()
	if p.pos >= len(p.data) || p.data[p.pos] != ':' {
		return p.unexpected(mpath, "after object key")
	}
	p.pos++
	m, err := p.value(mpath, depth+1)
	if err != nil {
		return err
	}
	v.keys = append(v.keys, key)
	v.elems = append(v.elems, m)
	keys.added(v, key)
	return nil
}

// keyIndex finds the keys an object has already: a small object's are searched, a larger
// one's are kept in a map.
type keyIndex struct{ seen map[string]bool }

func (x *keyIndex) has(v *value, key string) bool {
	if x.seen != nil {
		return x.seen[key]
	}
	return v.raw(key) != nil
}

// added records key, just appended to v.keys.
func (x *keyIndex) added(v *value, key string) {
	if x.seen == nil && len(v.keys) > 16 {
		x.seen = make(map[string]bool, 2*len(v.keys))
		for _, k := range v.keys {
			x.seen[k] = true
		}
	} else if x.seen != nil {
		x.seen[key] = true
	}
}

// separator reads what follows an object's member or an array's element: "," (more
// follows) or close (the end); anything else is an error at path, after what.
func (p *jsonParser) separator(close byte, path, after string) (more bool, err error) {
	p.skipSpace()
	if p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ',':
			p.pos++
			return true, nil
		case close:
			p.pos++
			return false, nil
		}
	}
	return false, p.unexpected(path, after)
}

func (p *jsonParser) array(path string, depth int) (*value, error) {
	v := &value{kind: kindArray, path: path}
	p.pos++ // [
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return v, nil
	}
	for {
		e, err := p.value(indexPath(path, len(v.elems)), depth+1)
		if err != nil {
			return nil, err
		}
		v.elems = append(v.elems, e)
		more, err := p.separator(']', path, "after array element")
		if err != nil {
			return nil, err
		}
		if !more {
			return v, nil
		}
	}
}

// string reads the string literal at p.pos. Escapes are decoded by encoding/json itself, so
// they mean exactly what they mean there.
func (p *jsonParser) string(path string) (string, error) {
	start := p.pos
	p.pos++ // "
	escaped := false
	for {
		if p.pos >= len(p.data) {
			return "", p.unexpected(path, "")
		}
		switch c := p.data[p.pos]; {
		case c == '"':
			p.pos++
			if !escaped {
				return string(p.data[start+1 : p.pos-1]), nil
			}
			var s string
			if err := json.Unmarshal(p.data[start:p.pos], &s); err != nil {
				return "", p.fail(path, start, "%v", err) // unreachable: the literal was checked
			}
			return s, nil
		case c == '\\':
			escaped = true
			p.pos++
			if p.pos >= len(p.data) {
				return "", p.unexpected(path, "")
			}
			switch p.data[p.pos] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.pos++
			case 'u':
				p.pos++
				for range 4 {
					if p.pos >= len(p.data) || !isHex(p.data[p.pos]) {
						return "", p.unexpected(path, "in \\u hexadecimal character escape")
					}
					p.pos++
				}
			default:
				return "", p.unexpected(path, "in string escape code")
			}
		case c < 0x20:
			return "", p.unexpected(path, "in string literal")
		default:
			p.pos++
		}
	}
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? and keeps it as written.
func (p *jsonParser) number(path string) (*value, error) {
	start := p.pos
	digits := func() error {
		if p.pos >= len(p.data) || !isDigit(p.data[p.pos]) {
			return p.unexpected(path, "in numeric literal")
		}
		for p.pos < len(p.data) && isDigit(p.data[p.pos]) {
			p.pos++
		}
		return nil
	}
	if p.data[p.pos] == '-' {
		p.pos++
	}
	if p.pos < len(p.data) && p.data[p.pos] == '0' {
		p.pos++
	} else if err := digits(); err != nil {
		return nil, err
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if err := digits(); err != nil {
			return nil, err
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if err := digits(); err != nil {
			return nil, err
		}
	}
	return &value{kind: kindNumber, path: path, str: string(p.data[start:p.pos])}, nil
}

func (p *jsonParser) literal(path, word string, v *value) (*value, error) {
	for i := 0; i < len(word); i++ {
		if p.pos >= len(p.data) || p.data[p.pos] != word[i] {
			return nil, p.unexpected(path, "in literal "+word)
		}
		p.pos++
	}
	return v, nil
}

// memberPath appends key to a JSON path: $.events for identifiers, $["odd key"] otherwise.
func memberPath(path, key string) string {
	ident := key != ""
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			ident = false
			break
		}
	}
	if ident {
		return path + "." + key
	}
	return path + "[" + strconv.Quote(key) + "]"
}

func indexPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// position renders a byte offset as "line L, column C" (1-based; the column counts bytes).
func position(data []byte, off int64) string {
	if off < 0 {
		off = 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := off - int64(bytes.LastIndexByte(before, '\n'))
	return fmt.Sprintf("line %d, column %d", line, col)
}

func invalidUTF8Offset(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(data)
}

// quote renders an untrusted string for a reason: Go-quoted (so control characters cannot
// forge log lines) and shortened to keep messages readable.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}

// keyList renders allowed member names for an "unknown field" reason.
func keyList(keys []string) string { return strings.Join(keys, ", ") }
