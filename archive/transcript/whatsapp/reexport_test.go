package whatsapp

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReExport: a later export of the same chat, cut at the front (WhatsApp caps exports)
// and longer at the end, gives the messages both hold the same keys, including identical
// messages in the same minute; only the new ones have keys not seen before. A ZIP and a
// loose text of the same chat agree too, and so does a second download "(1)".
func TestReExport(t *testing.T) {
	var all []string
	for i := range 40 {
		all = append(all, fmt.Sprintf("2%d/03/2024, 10:%02d - Bob: message %d", i/20, i%20, i))
		if i%5 == 0 {
			all = append(all, fmt.Sprintf("2%d/03/2024, 10:%02d - Lisa: ok", i/20, i%20), fmt.Sprintf("2%d/03/2024, 10:%02d - Lisa: ok", i/20, i%20))
		}
	}
	first := strings.Join(all[:30], "\n") + "\n"
	later := strings.Join(all[10:], "\r\n") + "\r\n"
	opts := Options{Location: time.UTC}
	keys := func(c *Chat, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		evs, _, err := walkAll(t, c)
		if err != nil {
			t.Fatal(err)
		}
		var ks []string
		for _, e := range evs {
			ks = append(ks, e.Key)
		}
		return ks
	}
	k1 := keys(openMap(t, map[string]string{"WhatsApp Chat with Bob.txt": first}, "WhatsApp Chat with Bob.txt", opts))
	k2 := keys(openZipBytes(t, "WhatsApp Chat with Bob (1).zip", buildZip(t, zent{name: "WhatsApp Chat with Bob.txt", data: []byte(later)}), opts))
	if len(k1) != 30 || len(k2) != len(all)-10 {
		t.Fatalf("%d and %d events", len(k1), len(k2))
	}
	if !slices.Equal(k1[10:], k2[:20]) {
		t.Fatalf("the overlap has different keys:\n%s\n%s", strings.Join(k1[10:], "\n"), strings.Join(k2[:20], "\n"))
	}
	for _, k := range k2[20:] {
		if slices.Contains(k1, k) {
			t.Fatalf("a new message has an old key %s", k)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(k2)))) != len(k2) {
		t.Fatal("keys are not unique within an export")
	}
}

// TestKeysStable: the key does not depend on the export's locale form or time zone option:
// the same message written by a German and a US phone is the same message.
func TestKeysStable(t *testing.T) {
	us := "[12/24/23, 9:01:00" + nnbsp + "AM] Lisa: hi\n[12/25/23, 9:01:00" + nnbsp + "AM] Lisa: hi\n"
	de := "[24.12.23, 09:01:00] Lisa: hi\n[25.12.23, 09:01:00] Lisa: hi\n"
	a, err := openZipBytes(t, "WhatsApp Chat - Lisa.zip", buildZip(t, zent{name: "_chat.txt", data: []byte(us)}), Options{Location: mustLoc(t, "America/New_York")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := openZipBytes(t, "WhatsApp Chat - Lisa.zip", buildZip(t, zent{name: "_chat.txt", data: []byte(de)}), Options{Location: time.UTC, DateOrder: OrderDMY})
	if err != nil {
		t.Fatal(err)
	}
	ea, _, err1 := walkAll(t, a)
	eb, _, err2 := walkAll(t, b)
	if err1 != nil || err2 != nil || ea[0].Key != eb[0].Key || ea[1].Key != eb[1].Key || a.ID() != b.ID() {
		t.Fatalf("%v %v\n%s %s\n%s %s", err1, err2, ea[0].Key, eb[0].Key, a.ID(), b.ID())
	}
	if !strings.HasPrefix(ea[0].Key, "whatsapp/Lisa/2023-12-24T09:01:00/") || ea[0].ID != strings.TrimPrefix(ea[0].Key, "whatsapp/Lisa/") {
		t.Errorf("key %q, id %q", ea[0].Key, ea[0].ID)
	}
}
