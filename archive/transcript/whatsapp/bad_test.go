package whatsapp

import (
	"errors"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/transcript"
)

func TestNotAnExport(t *testing.T) {
	utc := Options{Location: time.UTC}
	name := "WhatsApp Chat with Bob.txt"
	for _, c := range []struct {
		text, reason string
		line         int
	}{
		{"Dear Bob,\nplease find attached\n", `"Dear Bob," is not a WhatsApp message line`, 1},
		{"\n\n" + lrm + "\nhello\n", `"hello" is not a WhatsApp message line`, 4},
		{"", "no message lines", 0},
		{"\n\n", "no message lines", 0},
		{"25/12/2023, 14:05 - A: m\n32/13/2023, 14:06 - A: m\n", "32/13/2023 is not a date in any order", 2},
		{"25/12/2023, 14:05 - A: m\n25/12/2023, 25:06 - A: m\n", "25:06:00 is not a time", 2},
	} {
		_, err := openMap(t, map[string]string{name: c.text}, name, utc)
		target := ErrNotExport
		if c.line == 2 {
			target = ErrBadDate
		}
		wantError(t, err, target, c.reason, c.line)
		if !errors.Is(err, transcript.ErrInvalid) {
			t.Errorf("%v does not wrap transcript.ErrInvalid", err)
		}
	}
	_, err := openZipBytes(t, "photos.zip", buildZip(t, zent{name: "IMG-1.jpg", data: []byte(jpg)}), utc)
	wantError(t, err, ErrNotExport, "no _chat.txt", 0)
	_, err = openZipBytes(t, "two.zip", buildZip(t, zent{name: "a/_chat.txt", data: []byte("x")}, zent{name: "b/_chat.txt", data: []byte("x")}), utc)
	wantError(t, err, ErrNotExport, "2 chat texts", 0)
	_, err = openZipBytes(t, "broken.zip", []byte("PK\x03\x04 not really"), utc)
	if !errors.Is(err, transcript.ErrInvalid) || !strings.Contains(err.Error(), "broken.zip: not a readable ZIP") {
		t.Errorf("a broken ZIP: %v", err)
	}
}

func TestDateOrder(t *testing.T) {
	name := "WhatsApp Chat with Bob.txt"
	ambiguous := "1/5/23, 9:05 PM - Bob: hi\n1/5/23, 9:06 PM - Bob: there\n2/5/23, 9:06 PM - Bob: next\n"
	_, err := openMap(t, map[string]string{name: ambiguous}, name, Options{Location: time.UTC})
	we := wantError(t, err, ErrAmbiguousDates, "set the watch's date_order: dmy or mdy", 1)
	if !errors.Is(we, transcript.ErrInvalid) {
		t.Error("ambiguous dates do not wrap transcript.ErrInvalid")
	}
	for order, want := range map[DateOrder]string{OrderMDY: "2023-01-05 21:05:00", OrderDMY: "2023-05-01 21:05:00"} {
		c, err := openMap(t, map[string]string{name: ambiguous}, name, Options{Location: time.UTC, DateOrder: order})
		if err != nil {
			t.Fatal(err)
		}
		evs, _, err := walkAll(t, c)
		if err != nil || line(evs[0])[:19] != want {
			t.Errorf("%s: %s, %v", order, line(evs[0]), err)
		}
	}
	// the same day and month read the same either way: not ambiguous
	c, err := openMap(t, map[string]string{name: "5/5/23, 9:05 PM - Bob: hi\n"}, name, Options{Location: time.UTC})
	if err != nil || c.DateOrder() != OrderDMY {
		t.Errorf("5/5/23: %v, %q", err, c.DateOrder())
	}
	// a day above 12 anywhere in the file settles it, even after many ambiguous lines
	inferred := strings.Repeat("1/5/23, 9:05 PM - Bob: hi\n", 50) + "1/25/23, 9:05 PM - Bob: later\n"
	c, err = openMap(t, map[string]string{name: inferred}, name, Options{Location: time.UTC})
	if err != nil || c.DateOrder() != OrderMDY {
		t.Fatalf("inferred: %v, %q", err, c.DateOrder())
	}
	// an option contradicting the file names the line
	_, err = openMap(t, map[string]string{name: inferred}, name, Options{Location: time.UTC, DateOrder: OrderDMY})
	wantError(t, err, ErrBadDate, "1/25/23 is not a date in day/month/year order (date_order: dmy)", 51)
	// day first on one line and month first on another: no order fits
	_, err = openMap(t, map[string]string{name: "13/1/23, 9:05 - A: x\n1/13/23, 9:05 - A: y\n"}, name, Options{Location: time.UTC})
	wantError(t, err, ErrBadDate, "the dates fit no order: line 2 (1/13/23) is not day/month/year and line 1 (13/1/23) is not month/day/year", 2)
	if _, err := openMap(t, map[string]string{name: inferred}, name, Options{}); !errors.Is(err, ErrNoLocation) {
		t.Errorf("no location: %v", err)
	}
	if _, err := ParseDateOrder("dym"); err == nil {
		t.Error("ParseDateOrder accepted dym")
	}
}

// TestTimeZone: wall times are the phone's; the summer and winter offsets both apply.
func TestTimeZone(t *testing.T) {
	name := "WhatsApp Chat with Bob.txt"
	text := "25/01/2024, 10:00 - Bob: winter\n25/07/2024, 10:00 - Bob: summer\n"
	c, err := openMap(t, map[string]string{name: text}, name, Options{Location: mustLoc(t, "Europe/London")})
	if err != nil {
		t.Fatal(err)
	}
	evs, _, err := walkAll(t, c)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, lines(evs), []string{"2024-01-25 10:00:00 message Bob text=winter", "2024-07-25 09:00:00 message Bob text=summer"})
}

func TestLimits(t *testing.T) {
	name := "WhatsApp Chat with Bob.txt"
	long := "25/12/2023, 14:05 - A: " + strings.Repeat("x", 2000) + "\n"
	_, err := openMap(t, map[string]string{name: "25/12/2023, 14:05 - A: m\n" + long}, name,
		Options{Location: time.UTC, Limits: Limits{MaxLine: 1024}})
	wantError(t, err, ErrTooLarge, "line longer than 1024 bytes", 2)
	if !errors.Is(err, transcript.ErrTooLarge) {
		t.Error("a long line does not wrap transcript.ErrTooLarge")
	}
	many := "25/12/2023, 14:05 - A: m\n" + strings.Repeat(strings.Repeat("y", 100)+"\n", 20)
	_, err = openMap(t, map[string]string{name: many}, name, Options{Location: time.UTC, Limits: Limits{MaxMessage: 1000}})
	wantError(t, err, ErrTooLarge, "message longer than 1000 bytes", 1)
	_, err = openMap(t, map[string]string{name: many}, name, Options{Location: time.UTC, Limits: Limits{MaxText: 500}})
	wantError(t, err, ErrTooLarge, "larger than 500 bytes", 6)
	people := "25/12/2023, 14:05 - A: m\n25/12/2023, 14:05 - B: m\n25/12/2023, 14:05 - C: m\n"
	_, err = openMap(t, map[string]string{name: people}, name, Options{Location: time.UTC, Limits: Limits{MaxPeople: 2}})
	wantError(t, err, ErrTooLarge, "more than 2 different authors", 3)
}

var sizeRE = regexp.MustCompile(`its compressed size \d+`)

func TestUnsafeZip(t *testing.T) {
	utc := Options{Location: time.UTC}
	chat := []byte("25/12/2023, 14:05 - A: IMG-1.jpg (file attached)\n25/12/2023, 14:06 - A: IMG-2.jpg (file attached)\n" +
		"25/12/2023, 14:07 - A: ../../etc/passwd (file attached)\n25/12/2023, 14:08 - A: IMG-3.jpg (file attached)\n")
	data := buildZip(t,
		zent{name: "WhatsApp Chat with A.txt", data: chat},
		zent{name: "IMG-1.jpg", data: []byte(jpg), mode: fs.ModeSymlink | 0o777},
		zent{name: "IMG-2.jpg", data: []byte(jpg)}, zent{name: "IMG-2.jpg", data: []byte(jpg)},
		zent{name: "../IMG-3.jpg", data: []byte(jpg)},
		zent{name: "IMG-3.jpg", data: []byte(strings.Repeat("\x00", 4<<20)), declared: 4 << 20})
	c, err := openZipBytes(t, "WhatsApp Chat with A.zip", data, utc)
	if err != nil {
		t.Fatal(err)
	}
	evs, _, err := walkAll(t, c)
	var got []string
	for _, p := range problems(err) {
		got = append(got, sizeRE.ReplaceAllString(p.Error(), "its compressed size N"))
	}
	compare(t, got, []string{
		"WhatsApp Chat with A.zip: IMG-1.jpg: symbolic link: refused",
		"WhatsApp Chat with A.zip: IMG-2.jpg: name appears 2 times in the ZIP: refused",
		`WhatsApp Chat with A.zip: ../IMG-3.jpg: absolute name, backslash or "..": refused`,
		`WhatsApp Chat with A.zip: WhatsApp Chat with A.txt: line 1: attached file "IMG-1.jpg" is not in the ZIP beside WhatsApp Chat with A.txt; the message is archived saying so`,
		`WhatsApp Chat with A.zip: WhatsApp Chat with A.txt: line 2: attached file "IMG-2.jpg" is not in the ZIP beside WhatsApp Chat with A.txt; the message is archived saying so`,
		`WhatsApp Chat with A.zip: WhatsApp Chat with A.txt: line 3: attached file "../../etc/passwd" is not in the ZIP beside WhatsApp Chat with A.txt; the message is archived saying so`,
		"WhatsApp Chat with A.zip: IMG-3.jpg: declared uncompressed size 4194304 bytes is more than 100 times its compressed size N",
		`WhatsApp Chat with A.zip: WhatsApp Chat with A.txt: line 4: attached file "IMG-3.jpg" is not in the ZIP beside WhatsApp Chat with A.txt; the message is archived saying so`,
	})
	for _, e := range evs {
		if len(e.Files) > 0 {
			t.Errorf("a refused entry became a file: %s", line(e))
		}
	}
	if _, err := c.OpenEntry("IMG-3.jpg"); err == nil {
		t.Error("OpenEntry opened a bomb")
	}
	// the chat text itself: a declared bomb refuses the ZIP, a lying one fails as it is read
	bomb := []byte(strings.Repeat("25/12/2023, 14:05 - A: m\n", 1<<16))
	_, err = openZipBytes(t, "b.zip", buildZip(t, zent{name: "_chat.txt", data: bomb, declared: uint64(len(bomb))}), utc)
	if !errors.Is(err, ErrBomb) {
		t.Errorf("declared ratio: %v", err)
	}
	_, err = openZipBytes(t, "b.zip", buildZip(t, zent{name: "_chat.txt", data: bomb, declared: 1000}), utc)
	if !errors.Is(err, ErrBomb) || !strings.Contains(err.Error(), "b.zip: _chat.txt:") {
		t.Errorf("lying size: %v", err)
	}
}
