package whatsapp

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"unicode"

	"github.com/archivist-project/archivist/archive/transcript"
)

// SystemID is the participant of system lines (someone added, the subject changed, the
// encryption notice): WhatsApp itself, not a person.
const SystemID = "WhatsApp"

var systemPerson = transcript.Participant{ID: SystemID, DisplayName: "WhatsApp", Role: "system"}

// survey is the first pass: it checks every line, learns the date order and the people,
// and finds the media that are missing, without keeping the messages.
func (c *Chat) survey() error {
	rc, err := c.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	s := c.newScanner(rc)
	var ev evidence
	seen := map[string]bool{}
	for {
		m, err := s.next()
		if err != nil {
			return err
		}
		if m == nil {
			break
		}
		c.style = s.st
		if err := ev.add(m); err != nil {
			return c.errorf(m.line, ErrBadDate, "%v", err)
		}
		u := c.understand(m, s.st)
		if err := c.addPerson(u, seen); err != nil {
			return err
		}
		if u.kind == kindAttached {
			c.checkMedia(u)
		}
		c.messages++
	}
	order, oerr := ev.decide(c.order)
	if oerr != nil {
		return c.errorf(oerr.line, oerr.err, "%s", oerr.reason)
	}
	c.order = order
	ids := make([]string, 0, len(c.people))
	for _, p := range c.people {
		if p.ID != SystemID {
			ids = append(ids, p.ID)
		}
	}
	slices.Sort(ids)
	c.id = "whatsapp/" + c.title + "/" + shortHash(8, ids...)
	return nil
}

func (c *Chat) person(u msg) transcript.Participant {
	if u.author == "" {
		return systemPerson
	}
	return transcript.Participant{ID: participantID(u.author), DisplayName: shownName(u.author)}
}

func (c *Chat) addPerson(u msg, seen map[string]bool) error {
	p := c.person(u)
	if seen[p.ID] {
		return nil
	}
	if len(seen) >= c.limits.MaxPeople {
		return c.errorf(u.line, ErrTooLarge, "more than %d different authors: not one chat", c.limits.MaxPeople)
	}
	seen[p.ID] = true
	c.people = append(c.people, p)
	return nil
}

// safeMediaName reports whether an attachment's name is a plain file name.
func safeMediaName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\\") &&
		!strings.ContainsFunc(name, unicode.IsControl)
}

// checkMedia records a problem when the file a message attaches is not in the export.
func (c *Chat) checkMedia(u msg) {
	if _, ok := c.mediaRef(u.file, u.line); ok {
		return
	}
	where := "beside the chat text"
	if c.entry != "" {
		where = "in the ZIP beside " + c.entry
	}
	c.problems = append(c.problems, c.errorf(u.line, ErrMissingMedia, "attached file %q is not %s; the message is archived saying so", u.file, where))
}

// mediaRef is the file a message attaches, if the export holds it (and it may be read).
func (c *Chat) mediaRef(name string, line int) (transcript.FileRef, bool) {
	if !safeMediaName(name) {
		return transcript.FileRef{}, false
	}
	jp := fmt.Sprintf("line %d", line)
	if c.media != nil {
		f := c.media[name]
		if f == nil {
			return transcript.FileRef{}, false
		}
		if err := c.zip().CheckSize(f, c.limits.MaxMedia); err != nil {
			if !c.refusedOnce(name) {
				c.problems = append(c.problems, err)
			}
			return transcript.FileRef{}, false
		}
		return transcript.FileRef{Entry: f.Name, Name: name, Size: int64(f.UncompressedSize64), JSONPath: jp}, true
	}
	if ref, ok := c.stat[name]; ok {
		ref.JSONPath = jp
		return ref, true
	}
	p := path.Join(c.dir, name)
	fi, err := fs.Stat(c.fsys, p)
	if err != nil || !fi.Mode().IsRegular() {
		return transcript.FileRef{}, false
	}
	ref := transcript.FileRef{Path: p, Name: name, Size: fi.Size(), JSONPath: jp}
	c.stat[name] = ref
	return ref, true
}

// refusedOnce reports whether a too-large media entry was reported before (and marks it).
func (c *Chat) refusedOnce(name string) bool {
	if c.refused == nil {
		c.refused = map[string]bool{}
	}
	was := c.refused[name]
	c.refused[name] = true
	return was
}

// evidence is what the dates of a file say about their order.
type evidence struct {
	bad      [3]int    // first line that is not a date in dmy, mdy, ymd order
	badDate  [3]string // its date
	differ   int       // first line whose day and month could be swapped and differ
	dayMonth bool      // some date does not start with a four-digit year
}

var orders = [3]DateOrder{OrderDMY, OrderMDY, OrderYMD}

type orderError struct {
	line   int
	err    error
	reason string
}

func (e *evidence) add(m *rawMsg) error {
	if _, err := m.hdr.clock24(); err != nil {
		return err
	}
	valid := 0
	for i, o := range orders {
		if _, _, _, ok := m.hdr.ymd(o); ok {
			valid++
		} else if e.bad[i] == 0 {
			e.bad[i], e.badDate[i] = m.line, strings.Join(m.hdr.f[:], "/")
		}
	}
	if valid == 0 {
		return fmt.Errorf("%s is not a date in any order", strings.Join(m.hdr.f[:], "/"))
	}
	if !m.hdr.yearFirst() {
		e.dayMonth = true
		if e.differ == 0 && strings.TrimLeft(m.hdr.f[0], "0") != strings.TrimLeft(m.hdr.f[1], "0") {
			e.differ = m.line
		}
	}
	return nil
}

func (e *evidence) decide(opt DateOrder) (DateOrder, *orderError) {
	idx := map[DateOrder]int{OrderDMY: 0, OrderMDY: 1, OrderYMD: 2}
	if opt != OrderAuto {
		if i := idx[opt]; e.bad[i] != 0 {
			return "", &orderError{e.bad[i], ErrBadDate, fmt.Sprintf("%s is not a date in %s order (date_order: %s)", e.badDate[i], orderName(opt), opt)}
		}
		return opt, nil
	}
	dmy, mdy := e.bad[0] == 0, e.bad[1] == 0
	switch {
	case !e.dayMonth:
		return OrderYMD, nil
	case dmy && mdy && e.differ == 0:
		return OrderDMY, nil // every date reads the same either way
	case dmy && mdy:
		return "", &orderError{e.differ, ErrAmbiguousDates,
			"no date shows whether the day or the month comes first (none has a first or second number above 12); set the watch's date_order: dmy or mdy"}
	case dmy:
		return OrderDMY, nil
	case mdy:
		return OrderMDY, nil
	}
	line := max(e.bad[0], e.bad[1])
	return "", &orderError{line, ErrBadDate, fmt.Sprintf("the dates fit no order: line %d (%s) is not day/month/year and line %d (%s) is not month/day/year",
		e.bad[0], e.badDate[0], e.bad[1], e.badDate[1])}
}
