// Package identity is the one identity directory of every transcript format: a CSV file that
// maps a source's user id (a Slack user id, a phone number, an Entra object id) to a corporate
// email address and a name, and the rule that picks a participant's address.
//
// It owns the file format (header "source,id,email,name", strict) and Resolve's order: the
// address the export states, else the directory's, else a reserved address under ".invalid"
// that names the source and the id, so an unresolved participant is archived, recognisable and
// countable. It does not own reloading (the daemon calls Load again on SIGHUP) nor counting or
// listing unresolved participants (Person.Resolved tells the caller).
package identity

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strconv"
	"strings"
)

// FallbackDomain is the domain of every address Resolve makes up. ".invalid" is reserved
// (RFC 2606): no mail can ever be delivered there, and no real address can collide with it.
const FallbackDomain = "unresolved.invalid"

// ErrInvalid is wrapped by every *Error about the directory's content.
var ErrInvalid = errors.New("invalid identity directory")

// header is the required first row.
var header = []string{"source", "id", "email", "name"}

// Error is a problem with the directory file: "<file>:<line>: <reason>"; Line is 0 when the
// problem is with the file as a whole.
type Error struct {
	File   string
	Line   int
	Reason string
	Err    error // ErrInvalid, or the cause of a failure to open or read the file
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Reason
	}
	return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

// Entry is what the directory knows about one (source, id).
type Entry struct {
	Email string
	Name  string // "" if the file leaves it empty
	Line  int    // where it is defined, for messages
}

type key struct{ source, id string }

// Directory maps (source, id) to an Entry. The zero value and a nil *Directory are empty
// directories (no file configured): Resolve then uses only the export and the fallback.
type Directory struct {
	entries map[key]Entry
}

// Len is the number of entries.
func (d *Directory) Len() int {
	if d == nil {
		return 0
	}
	return len(d.entries)
}

// Lookup returns the entry for (source, id). source is compared case-insensitively, id exactly.
func (d *Directory) Lookup(source, id string) (Entry, bool) {
	if d == nil {
		return Entry{}, false
	}
	e, ok := d.entries[key{strings.ToLower(source), id}]
	return e, ok
}

// Load reads the directory file at path. Errors are *Error naming the file and the line.
func Load(path string) (*Directory, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Reason: "cannot open: " + reason(err), Err: err}
	}
	defer f.Close()
	return Parse(path, f)
}

func reason(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Parse reads a directory from r; name is used in errors. A leading UTF-8 byte order mark and
// CRLF line ends are accepted; blank lines are skipped.
func Parse(name string, r io.Reader) (*Directory, error) {
	cr := csv.NewReader(stripBOM(r))
	cr.FieldsPerRecord = len(header)
	row, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &Error{File: name, Line: 1, Reason: "empty file: the header source,id,email,name is required", Err: ErrInvalid}
	}
	if err != nil {
		return nil, csvError(name, err)
	}
	for i, h := range header {
		if strings.TrimSpace(row[i]) != h {
			return nil, &Error{File: name, Line: 1, Err: ErrInvalid,
				Reason: fmt.Sprintf("header is %q, want source,id,email,name", strings.Join(row, ","))}
		}
	}
	d := &Directory{entries: map[key]Entry{}}
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return d, nil
		}
		if err != nil {
			return nil, csvError(name, err)
		}
		line, _ := cr.FieldPos(0)
		if err := d.add(row, line); err != nil {
			return nil, &Error{File: name, Line: line, Reason: err.Error(), Err: ErrInvalid}
		}
	}
}

func (d *Directory) add(row []string, line int) error {
	source := strings.ToLower(strings.TrimSpace(row[0]))
	id := strings.TrimSpace(row[1])
	email := strings.TrimSpace(row[2])
	name := strings.TrimSpace(row[3])
	switch {
	case source == "":
		return errors.New("source is empty")
	case id == "":
		return errors.New("id is empty")
	case !ValidEmail(email):
		return fmt.Errorf("email %q is not an address like name@example.com", email)
	}
	k := key{source, id}
	if prev, ok := d.entries[k]; ok {
		return fmt.Errorf("%s id %q is already defined on line %d", source, id, prev.Line)
	}
	d.entries[k] = Entry{Email: email, Name: name, Line: line}
	return nil
}

func csvError(name string, err error) *Error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &Error{File: name, Line: pe.Line, Reason: pe.Err.Error(), Err: errors.Join(ErrInvalid, err)}
	}
	return &Error{File: name, Reason: "cannot read: " + reason(err), Err: err}
}

func stripBOM(r io.Reader) io.Reader {
	var head [3]byte
	n, err := io.ReadFull(r, head[:])
	if n == 3 && bytes.Equal(head[:], []byte("\uFEFF")) {
		return r
	}
	rest := io.MultiReader(bytes.NewReader(head[:n]), r)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return io.MultiReader(bytes.NewReader(head[:n]), errReader{err})
	}
	return rest
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// ValidEmail is the loose check applied to every address: one bare address (no display name,
// no angle brackets, no spaces) with a local part and a domain.
func ValidEmail(s string) bool {
	if s == "" || strings.ContainsAny(s, " \t\r\n<>,;\"") {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1
}

// Person is who a participant is for the archive.
type Person struct {
	Email string
	Name  string
	// Resolved is false when Email is the fallback under FallbackDomain: neither the export
	// nor the directory knew the address.
	Resolved bool
}

// Resolve picks the address and name of the participant id of source. The address is
// fromExportEmail when it is a valid address, else the directory's, else Fallback(source, id).
// The name is fromExportName, else the directory's, else id. d may be nil.
func (d *Directory) Resolve(source, id, fromExportEmail, fromExportName string) Person {
	p := Person{Email: strings.TrimSpace(fromExportEmail), Name: strings.TrimSpace(fromExportName), Resolved: true}
	e, found := d.Lookup(source, id)
	if p.Name == "" {
		p.Name = e.Name
	}
	if p.Name == "" {
		p.Name = id
	}
	if !ValidEmail(p.Email) {
		p.Email = e.Email
		if !found {
			p.Email, p.Resolved = Fallback(source, id), false
		}
	}
	return p
}

// Fallback is the reserved address of an unresolved participant: "<id>.<source>@unresolved.invalid",
// lowercase, e.g. "u012ab3cd.slack@unresolved.invalid" for the Slack user U012AB3CD. Characters
// other than letters, digits and "-" become "-" (a leading "+" of a phone number is dropped);
// when that loses information (other characters, mixed case, or an id longer than 40 bytes),
// the id part is cut to 40 bytes and "-" and 8 hex digits of the id's SHA-256 are appended, so
// that two ids never share an address, except ids that differ only in case (U1 and u1), as
// email addresses are compared case-insensitively. An empty id is "unknown".
func Fallback(source, id string) string {
	return label(id) + "." + label(source) + "@" + FallbackDomain
}

func label(s string) string {
	trimmed := strings.TrimPrefix(s, "+")
	lossless := trimmed != "" && len(trimmed) <= 40 &&
		(trimmed == strings.ToLower(trimmed) || trimmed == strings.ToUpper(trimmed))
	var b strings.Builder
	for _, r := range strings.ToLower(trimmed) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '-' && b.Len() > 0:
			b.WriteRune(r)
		default:
			lossless = false
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
				b.WriteByte('-')
			}
		}
	}
	out := strings.Trim(b.String(), "-")
	if out != trimmed && strings.ToLower(trimmed) != out {
		lossless = false
	}
	if lossless {
		return out
	}
	if len(out) > 40 {
		out = strings.TrimRight(out[:40], "-")
	}
	if out == "" && s == "" {
		return "unknown"
	}
	sum := sha256.Sum256([]byte(s))
	if out == "" {
		return "x-" + hex.EncodeToString(sum[:4])
	}
	return out + "-" + hex.EncodeToString(sum[:4])
}
