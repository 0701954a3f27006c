package whatsapp

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// style is the line grammar of a file, fixed by its first line.
type style int

const (
	styleNone    style = iota
	styleIOS           // [date, time] rest
	styleAndroid       // date, time - rest
)

// The date, the time and what may stand between them, in the forms WhatsApp writes: "31/12/2023",
// "12/31/23", "31.12.23", "2023-12-31", "13. 6. 2018."; ", " or " " or " à " / " um " before
// the time; "14:05", "2:05:09 PM" (U+202F or U+00A0 before it on newer exports), "2:05 p. m.",
// "14.05".
const (
	sp      = `[ \x{00A0}\x{202F}]`
	date    = `(\d{1,4})[./-]` + sp + `?(\d{1,2})[./-]` + sp + `?(\d{1,4})\.?`
	between = `,?` + sp + `+(?:\p{L}+` + sp + `+)?`
	clock   = `(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?`
	ampm    = `(?:` + sp + `*((?i:[ap]\.?` + sp + `?m\.?)))?`
)

var (
	iosRE     = regexp.MustCompile(`^\[` + date + between + clock + ampm + sp + `*\]` + sp)
	androidRE = regexp.MustCompile(`^` + date + between + clock + ampm + sp + `[-–]` + sp)
)

// header is the date and time of a message line, as written.
type header struct {
	f          [3]string // the date's fields in file order
	h, m, s    int
	pm, hasAMP bool
	rest       string // after the header: "author: text" or a system text
}

// marks are the invisible characters WhatsApp puts at line starts and around names.
func isMark(r rune) bool {
	switch {
	case r == '\u200E', r == '\u200F', r == '\uFEFF', r == '\u200B',
		r >= '\u202A' && r <= '\u202E', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

func trimMarks(s string) string { return strings.TrimLeftFunc(s, isMark) }

// parseHeader matches line against the grammar st (styleNone: either).
func parseHeader(line string, st style) (header, style, bool) {
	line = trimMarks(line)
	var m []string
	got := styleNone
	if st != styleAndroid && strings.HasPrefix(line, "[") {
		if m = iosRE.FindStringSubmatch(line); m != nil {
			got = styleIOS
		}
	}
	if m == nil && st != styleIOS {
		if m = androidRE.FindStringSubmatch(line); m != nil {
			got = styleAndroid
		}
	}
	if m == nil {
		return header{}, styleNone, false
	}
	h := header{f: [3]string{m[1], m[2], m[3]}, rest: line[len(m[0]):]}
	h.h, _ = strconv.Atoi(m[4]) // the regexp matched digits
	h.m, _ = strconv.Atoi(m[5])
	if m[6] != "" {
		h.s, _ = strconv.Atoi(m[6])
	}
	if m[7] != "" {
		h.hasAMP = true
		h.pm = strings.ContainsAny(m[7][:1], "pP")
	}
	return h, got, true
}

// clock24 is the hour on a 24-hour clock, or an error for a time that does not exist.
func (h header) clock24() (int, error) {
	hour := h.h
	if h.hasAMP {
		if hour < 1 || hour > 12 {
			return 0, fmt.Errorf("%d is not an hour of a 12-hour clock", hour)
		}
		if hour == 12 {
			hour = 0
		}
		if h.pm {
			hour += 12
		}
	}
	if hour > 23 || h.m > 59 || h.s > 59 {
		return 0, fmt.Errorf("%02d:%02d:%02d is not a time", h.h, h.m, h.s)
	}
	return hour, nil
}

// ymd reads the date's fields in order o; ok is false when that is not a date. A
// four-digit first field is a year whatever o says.
func (h header) ymd(o DateOrder) (y, mo, d int, ok bool) {
	var n [3]int
	for i, f := range h.f {
		n[i], _ = strconv.Atoi(f) // the regexp matched digits
	}
	l0, l2 := len(h.f[0]), len(h.f[2])
	var yi, mi, di int
	switch {
	case l0 == 4 || o == OrderYMD:
		if (l0 != 4 && l0 != 2) || l2 > 2 {
			return 0, 0, 0, false
		}
		yi, mi, di = 0, 1, 2
	case (l2 != 4 && l2 != 2) || l0 > 2:
		return 0, 0, 0, false
	case o == OrderDMY:
		di, mi, yi = 0, 1, 2
	case o == OrderMDY:
		mi, di, yi = 0, 1, 2
	default:
		return 0, 0, 0, false
	}
	y, mo, d = n[yi], n[mi], n[di]
	if len(h.f[yi]) == 2 {
		y += 2000
	}
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || y < 2009 {
		return 0, 0, 0, false // WhatsApp was released in 2009
	}
	return y, mo, d, true
}

func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// yearFirst reports whether the date's order is fixed by a four-digit first field.
func (h header) yearFirst() bool { return len(h.f[0]) == 4 }

// stamp is the message's local wall-clock time in order o (validated by the first pass).
type stamp struct {
	y, mo, d, h, mi, s int
}

func (st stamp) local() string {
	return fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d", st.y, st.mo, st.d, st.h, st.mi, st.s)
}

func (st stamp) in(loc *time.Location) time.Time {
	return time.Date(st.y, time.Month(st.mo), st.d, st.h, st.mi, st.s, 0, loc).UTC()
}

func (st stamp) day() string { return st.local()[:10] }

func (st stamp) less(o stamp) bool { return st.local() < o.local() }

func (h header) stamp(o DateOrder) (stamp, error) {
	hour, err := h.clock24()
	if err != nil {
		return stamp{}, err
	}
	y, mo, d, ok := h.ymd(o)
	if !ok {
		return stamp{}, fmt.Errorf("%s is not a date in %s order", strings.Join(h.f[:], "/"), orderName(o))
	}
	return stamp{y, mo, d, hour, h.m, h.s}, nil
}

func orderName(o DateOrder) string {
	switch o {
	case OrderDMY:
		return "day/month/year"
	case OrderMDY:
		return "month/day/year"
	case OrderYMD:
		return "year/month/day"
	}
	return "any"
}
