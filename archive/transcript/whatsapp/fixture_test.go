package whatsapp

import (
	"errors"
	"strings"
	"testing"

	"github.com/archivist-project/archivist/archive/identity"
	"github.com/archivist-project/archivist/archive/transcript"
)

// The fixtures are written from WhatsApp's help pages on exporting chats and from the line
// forms importers (whatsapp-chat-parser, WhatsApp-Chat-Exporter, chat analyzers) handle; the
// people and numbers are made up (555-01xx, Ofcom's 07700 900xxx drama range).

const (
	jpg = "\xff\xd8\xff\xe0 photo"
	pdf = "%PDF-1.4 term sheet\n"
)

// iosUS is _chat.txt of an iOS group export in US English: month first, 12-hour clock with
// U+202F, seconds, U+200E before notices and media, a non-contact with "~".
func iosUS() string {
	am, pm := nnbsp+"AM]", nnbsp+"PM]"
	return strings.Join([]string{
		"[12/24/23, 9:00:00" + am + " Deal team: " + lrm + "Messages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them.",
		"[12/24/23, 9:00:00" + am + " Deal team: " + lrm + "Lisa Holmes created group “Deal team”",
		"[12/24/23, 9:00:05" + am + " Deal team: " + lrm + "Lisa Holmes added +1 (555) 010-0199",
		lrm + "[12/24/23, 9:01:00" + am + " Lisa Holmes: Morning all.",
		"Closing checklist:",
		"12/25/23 is the closing date",
		"[1] signatures",
		"[12/24/23, 9:01:30" + am + " +1 (555) 010-0199: ok",
		"[12/24/23, 9:01:30" + am + " +1 (555) 010-0199: ok",
		lrm + "[12/24/23, 9:02:00" + am + " Lisa Holmes: " + lrm + "<attached: 00000012-PHOTO-2023-12-24-09-02-00.jpg>",
		lrm + "[12/24/23, 9:02:10" + am + " Lisa Holmes: " + lrm + "<attached: 00000013-Term sheet.pdf>",
		lrm + "[12/24/23, 9:03:00" + am + " ~" + nnbsp + "Alex Reed: " + lrm + "image omitted",
		lrm + "[12/24/23, 9:03:10" + am + " Lisa Holmes: Term sheet.pdf • 3 pages " + lrm + "document omitted",
		"[12/24/23, 1:15:00" + pm + " Lisa Holmes: Price is 12.5 " + lrm + "<This message was edited>",
		lrm + "[12/24/23, 1:16:00" + pm + " +1 (555) 010-0199: " + lrm + "This message was deleted.",
		lrm + "[12/24/23, 1:17:00" + pm + " Lisa Holmes: " + lrm + "You deleted this message.",
		"[12/24/23, 11:59:59" + pm + " Lisa Holmes: Bye: see you",
		"[12/25/23, 12:00:00" + am + " Lisa Holmes: ",
		lrm + "[12/25/23, 12:01:00" + am + " Deal team: " + lrm + "Your security code with +1 (555) 010-0199 changed. Tap to learn more.",
	}, "\n") + "\n"
}

func iosZip(t testing.TB) []byte {
	return buildZip(t,
		zent{name: "_chat.txt", data: []byte(iosUS())},
		zent{name: "00000012-PHOTO-2023-12-24-09-02-00.jpg", data: []byte(jpg)},
		zent{name: "00000013-Term sheet.pdf", data: []byte(pdf)},
		zent{name: "__MACOSX/._chat.txt", data: []byte("fork")})
}

func TestIOSEnglishZip(t *testing.T) {
	c, err := openZipBytes(t, "exports/WhatsApp Chat - Deal team.zip", iosZip(t), Options{Location: mustLoc(t, "America/New_York")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Title() != "Deal team" || c.DateOrder() != OrderMDY || c.Messages() != 16 || c.Entry() != "_chat.txt" {
		t.Fatalf("title %q order %q messages %d entry %q", c.Title(), c.DateOrder(), c.Messages(), c.Entry())
	}
	evs, people, err := walkAll(t, c)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, lines(evs), []string{
		"2023-12-24 14:00:00 notice WhatsApp sys=Messages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them.",
		"2023-12-24 14:00:00 notice WhatsApp sys=Lisa Holmes created group “Deal team”",
		"2023-12-24 14:00:05 notice WhatsApp sys=Lisa Holmes added +1 (555) 010-0199",
		`2023-12-24 14:01:00 message Lisa Holmes text=Morning all.\nClosing checklist:\n12/25/23 is the closing date\n[1] signatures`,
		"2023-12-24 14:01:30 message +15550100199 text=ok",
		"2023-12-24 14:01:30 message +15550100199 text=ok",
		"2023-12-24 14:02:00 file Lisa Holmes file=00000012-PHOTO-2023-12-24-09-02-00.jpg[00000012-PHOTO-2023-12-24-09-02-00.jpg 10]",
		"2023-12-24 14:02:10 file Lisa Holmes file=00000013-Term sheet.pdf[00000013-Term sheet.pdf 20]",
		`2023-12-24 14:03:00 message Alex Reed sys=A media file was not included: the chat was exported without media (WhatsApp wrote "image omitted").`,
		`2023-12-24 14:03:10 message Lisa Holmes sys=A media file was not included: the chat was exported without media (WhatsApp wrote "Term sheet.pdf • 3 pages document omitted").`,
		"2023-12-24 18:15:00 message Lisa Holmes text=Price is 12.5 sys=Edited; this is the final text.",
		"2023-12-24 18:16:00 notice +15550100199 sys=+1 (555) 010-0199 deleted a message; its text is not in the export.",
		"2023-12-24 18:17:00 notice Lisa Holmes sys=Lisa Holmes deleted a message; its text is not in the export.",
		"2023-12-25 04:59:59 message Lisa Holmes text=Bye: see you",
		"2023-12-25 05:00:00 message Lisa Holmes sys=The message has no text.",
		"2023-12-25 05:01:00 notice WhatsApp sys=Your security code with +1 (555) 010-0199 changed. Tap to learn more.",
	})
	if p := people["+15550100199"]; p.DisplayName != "+1 (555) 010-0199" {
		t.Errorf("phone author shown as %q", p.DisplayName)
	}
	if evs[4].Key == evs[5].Key || !strings.HasSuffix(evs[4].Key, "/0") || !strings.HasSuffix(evs[5].Key, "/1") {
		t.Errorf("identical messages: keys %q, %q", evs[4].Key, evs[5].Key)
	}
	rc, err := c.OpenEntry(evs[7].Files[0].Entry)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var b strings.Builder
	if _, err := ioCopy(&b, rc); err != nil || b.String() != pdf {
		t.Fatalf("OpenEntry: %q, %v", b.String(), err)
	}
	if _, err := c.OpenEntry("__MACOSX/._chat.txt"); err == nil {
		t.Error("OpenEntry opened an entry that is not media")
	}
}

// androidDE is an Android export in German: day first, two-digit years, 24-hour clock, CRLF,
// a caption under the attachment, a phone number in bidi marks, a media file missing.
func androidDE() string {
	return strings.Join([]string{
		"13.01.23, 09:15 - Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt. Niemand außerhalb dieses Chats kann sie lesen oder anhören, nicht einmal WhatsApp. Tippe, um mehr zu erfahren.",
		"13.01.23, 09:16 - Lisa: Guten Morgen",
		"13.01.23, 09:16 - Jordan Davies: IMG-20230113-WA0001.jpg (Datei angehängt)",
		"Der unterschriebene Vertrag",
		"13.01.23, 09:17 - Jordan Davies: <Medien ausgeschlossen>",
		"13.01.23, 09:18 - Lisa: Diese Nachricht wurde gelöscht",
		"13.01.23, 09:19 - Jordan Davies: Preis 12,5 Mio. <Diese Nachricht wurde bearbeitet>",
		"13.01.23, 09:20 - \u202a+49 151 12345678\u202c: Hallo",
		`13.01.23, 09:21 - Lisa hat den Betreff von "Deal" zu "Deal: Q1" geändert`,
		"13.01.23, 09:22 - Jordan Davies: VID-20230113-WA0002.mp4 (Datei angehängt)",
	}, "\r\n") + "\r\n"
}

func TestAndroidGermanLoose(t *testing.T) {
	name := "exports/WhatsApp Chat mit Lisa.txt"
	if !MatchText(name) {
		t.Fatal("MatchText does not recognise the German name")
	}
	c, err := openMap(t, map[string]string{name: androidDE(), "exports/IMG-20230113-WA0001.jpg": jpg},
		name, Options{Location: mustLoc(t, "Europe/Berlin")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Title() != "Lisa" || c.DateOrder() != OrderDMY {
		t.Fatalf("title %q order %q", c.Title(), c.DateOrder())
	}
	evs, _, err := walkAll(t, c)
	ps := problems(err)
	if len(ps) != 1 || !errors.Is(ps[0], ErrMissingMedia) || !errors.Is(ps[0], transcript.ErrAttachment) || ps[0].Line != 10 {
		t.Fatalf("problems: %v", err)
	}
	if got := ps[0].Error(); got != `exports/WhatsApp Chat mit Lisa.txt: line 10: attached file "VID-20230113-WA0002.mp4" is not beside the chat text; the message is archived saying so` {
		t.Errorf("problem reads %q", got)
	}
	compare(t, lines(evs), []string{
		"2023-01-13 08:15:00 notice WhatsApp sys=Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt. Niemand außerhalb dieses Chats kann sie lesen oder anhören, nicht einmal WhatsApp. Tippe, um mehr zu erfahren.",
		"2023-01-13 08:16:00 message Lisa text=Guten Morgen",
		"2023-01-13 08:16:00 file Jordan Davies text=Der unterschriebene Vertrag file=IMG-20230113-WA0001.jpg[exports/IMG-20230113-WA0001.jpg 10]",
		`2023-01-13 08:17:00 message Jordan Davies sys=A media file was not included: the chat was exported without media (WhatsApp wrote "<Medien ausgeschlossen>").`,
		"2023-01-13 08:18:00 notice Lisa sys=Lisa deleted a message; its text is not in the export.",
		"2023-01-13 08:19:00 message Jordan Davies text=Preis 12,5 Mio. sys=Edited; this is the final text.",
		"2023-01-13 08:20:00 message +4915112345678 text=Hallo",
		`2023-01-13 08:21:00 notice WhatsApp sys=Lisa hat den Betreff von "Deal" zu "Deal: Q1" geändert`,
		"2023-01-13 08:22:00 message Jordan Davies sys=File VID-20230113-WA0002.mp4 was attached, but the export does not contain it.",
	})
}

// French iOS and Spanish Android, zipped with their media.
func TestFrenchAndSpanish(t *testing.T) {
	fr := strings.Join([]string{
		"[25/12/2023 14:05:09] Jean Martin: Bonjour",
		lrm + "[25/12/2023 14:06:00] Jean Martin: " + lrm + "<pièce jointe : 00000003-PHOTO-2023-12-25-14-06-00.jpg>",
		lrm + "[25/12/2023 14:07:00] Jean Martin: " + lrm + "image absente",
		"[25/12/2023 14:08:00] Jean Martin: Ce message a été supprimé.",
		"[25/12/2023 14:09:00] Jean Martin: Le prix " + lrm + "<Ce message a été modifié>",
	}, "\n")
	c, err := openZipBytes(t, "WhatsApp Chat - Jean Martin.zip", buildZip(t,
		zent{name: "_chat.txt", data: []byte(fr)}, zent{name: "00000003-PHOTO-2023-12-25-14-06-00.jpg", data: []byte(jpg)}),
		Options{Location: mustLoc(t, "Europe/Paris")})
	if err != nil {
		t.Fatal(err)
	}
	evs, _, err := walkAll(t, c)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, lines(evs), []string{
		"2023-12-25 13:05:09 message Jean Martin text=Bonjour",
		"2023-12-25 13:06:00 file Jean Martin file=00000003-PHOTO-2023-12-25-14-06-00.jpg[00000003-PHOTO-2023-12-25-14-06-00.jpg 10]",
		`2023-12-25 13:07:00 message Jean Martin sys=A media file was not included: the chat was exported without media (WhatsApp wrote "image absente").`,
		"2023-12-25 13:08:00 notice Jean Martin sys=Jean Martin deleted a message; its text is not in the export.",
		"2023-12-25 13:09:00 message Jean Martin text=Le prix sys=Edited; this is the final text.",
	})
	es := strings.Join([]string{
		"25/12/23, 2:05 p. m. - Los mensajes y las llamadas están cifrados de extremo a extremo.",
		"25/12/23, 2:05 p. m. - Ana López: Hola",
		"25/12/23, 2:06 p. m. - Ana López: IMG-20231225-WA0003.jpg (archivo adjunto)",
		"25/12/23, 2:07 p. m. - Ana López: <Multimedia omitido>",
		"25/12/23, 2:08 p. m. - Ana López: Se eliminó este mensaje.",
		"25/12/23, 2:09 p. m. - Ana López: Eliminaste este mensaje.",
	}, "\n")
	c, err = openZipBytes(t, "WhatsApp Chat with Ana.zip", buildZip(t,
		zent{name: "Chat de WhatsApp con Ana López.txt", data: []byte(es)}, zent{name: "IMG-20231225-WA0003.jpg", data: []byte(jpg)}),
		Options{Location: mustLoc(t, "Europe/Madrid"), DateOrder: OrderDMY})
	if err != nil {
		t.Fatal(err)
	}
	if c.Title() != "Ana López" {
		t.Errorf("title %q: the entry's name is the chat's", c.Title())
	}
	evs, _, err = walkAll(t, c)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, lines(evs), []string{
		"2023-12-25 13:05:00 notice WhatsApp sys=Los mensajes y las llamadas están cifrados de extremo a extremo.",
		"2023-12-25 13:05:00 message Ana López text=Hola",
		"2023-12-25 13:06:00 file Ana López file=IMG-20231225-WA0003.jpg[IMG-20231225-WA0003.jpg 10]",
		`2023-12-25 13:07:00 message Ana López sys=A media file was not included: the chat was exported without media (WhatsApp wrote "<Multimedia omitido>").`,
		"2023-12-25 13:08:00 notice Ana López sys=Ana López deleted a message; its text is not in the export.",
		"2023-12-25 13:09:00 notice Ana López sys=Ana López deleted a message; its text is not in the export.",
	})
}

// TestIdentity: authors resolve through the directory by phone number or name.
func TestIdentity(t *testing.T) {
	dir, err := identity.Parse("identities.csv", strings.NewReader("source,id,email,name\n"+
		"whatsapp,+15550100199,jordan.davies@greenvaultcapital.com,Jordan Davies\n"+
		"whatsapp,Lisa Holmes,lisa.holmes@greenvaultcapital.com,\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := openZipBytes(t, "WhatsApp Chat - Deal team.zip", iosZip(t), Options{Location: mustLoc(t, "America/New_York")})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range c.Participants() {
		got[p.ID] = dir.Resolve("whatsapp", p.ID, p.Email, p.DisplayName).Email
	}
	for id, email := range map[string]string{"+15550100199": "jordan.davies@greenvaultcapital.com", "Lisa Holmes": "lisa.holmes@greenvaultcapital.com",
		"Alex Reed": identity.Fallback("whatsapp", "Alex Reed"), "WhatsApp": identity.Fallback("whatsapp", "WhatsApp")} {
		if got[id] != email {
			t.Errorf("%s resolves to %q, want %q", id, got[id], email)
		}
	}
}
