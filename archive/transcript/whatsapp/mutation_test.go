package whatsapp

import (
	"math/rand"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// TestMutations runs the fuzz checks on fixed random mutations of the fixtures, so every
// go test covers more than the seeds. It found keys repeated when the time went back.
func TestMutations(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	seeds := []string{iosUS(), androidDE(), "1/1/23, 1:00 - a: b\n1/1/23, 1:00 - a: b"}
	for i := range 3000 {
		b := []byte(seeds[i%len(seeds)])
		for range 1 + r.Intn(4) {
			switch p := r.Intn(len(b) + 1); r.Intn(3) {
			case 0:
				b = b[:p]
			case 1:
				if p < len(b) {
					b[p] = byte(r.Intn(256))
				}
			case 2:
				b = append(b[:p:p], b[p/2:]...)
			}
		}
		name := "WhatsApp Chat with X.txt"
		c, err := OpenText(fstest.MapFS{name: {Data: b}}, name, Options{Location: time.UTC, Limits: fuzzLimits})
		fuzzChat(t, c, err)
	}
}

// TestClockBack: messages dated before earlier ones (a phone clock set back, a clock change)
// keep unique keys; within the repeated hour identical messages are still counted.
func TestClockBack(t *testing.T) {
	text := strings.Join([]string{
		"13/01/2023, 09:17 - A: same", "13/01/2023, 09:18 - A: x", "13/01/2023, 11:20 - A: y",
		"13/01/2023, 09:17 - A: same", "13/01/2023, 09:17 - A: same",
		"13/01/2023, 11:00 - A: z", "13/01/2023, 11:30 - A: w", "13/01/2023, 11:00 - A: z",
	}, "\n")
	name := "WhatsApp Chat with A.txt"
	c, err := openMap(t, map[string]string{name: text}, name, Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	evs, _, err := walkAll(t, c)
	if err != nil {
		t.Fatal(err)
	}
	var suffixes []string
	for _, e := range evs {
		suffixes = append(suffixes, e.Key[strings.LastIndex(e.Key, "/")+1:])
	}
	compare(t, suffixes, []string{"0", "0", "0", "L4", "L5", "0", "0", "1"})
}
