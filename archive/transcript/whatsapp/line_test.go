package whatsapp

import (
	"testing"
)

// TestHeaders: the date and time forms WhatsApp writes on iOS and Android in English,
// German, French and Spanish (from the format's public descriptions and the cases importers
// such as whatsapp-chat-parser test), read in the order given.
func TestHeaders(t *testing.T) {
	cases := []struct {
		order      DateOrder
		line, want string // want: local time, then the rest
	}{
		{OrderDMY, "[25/12/2023, 14:05:09] A: m", "2023-12-25T14:05:09 A: m"},             // iOS en-GB, fr, es
		{OrderMDY, "[12/25/23, 2:05:09" + nnbsp + "PM] A: m", "2023-12-25T14:05:09 A: m"}, // iOS en-US, newer
		{OrderMDY, "[12/25/23, 2:05:09 PM] A: m", "2023-12-25T14:05:09 A: m"},             // iOS en-US, older
		{OrderDMY, "[25.12.23, 14:05:09] A: m", "2023-12-25T14:05:09 A: m"},               // iOS de
		{OrderDMY, "[25/12/2023 à 14:05:09] A: m", "2023-12-25T14:05:09 A: m"},            // fr with "à"
		{OrderDMY, "[25/12/23, 2:05:09 p. m.] A: m", "2023-12-25T14:05:09 A: m"},          // iOS es
		{OrderDMY, "[3/6/18 1:55:00 p. m.] a: m", "2018-06-03T13:55:00 a: m"},             // no comma
		{OrderDMY, lrm + "[25/12/2023, 14:05:09] A: m", "2023-12-25T14:05:09 A: m"},       // a mark before
		{OrderDMY, "25/12/2023, 14:05 - A: m", "2023-12-25T14:05:00 A: m"},                // Android en-GB, fr, es
		{OrderMDY, "12/25/23, 2:05 PM - A: m", "2023-12-25T14:05:00 A: m"},                // Android en-US
		{OrderMDY, "12/25/23, 2:05" + nnbsp + "PM - A: m", "2023-12-25T14:05:00 A: m"},    // Android en-US, newer
		{OrderDMY, "25.12.23, 14:05 - A: m", "2023-12-25T14:05:00 A: m"},                  // Android de
		{OrderDMY, "25/12/2023 à 14:05 - A: m", "2023-12-25T14:05:00 A: m"},               // Android fr, older
		{OrderDMY, "25/12/23, 2:05 p. m. - A: m", "2023-12-25T14:05:00 A: m"},             // Android es
		{OrderDMY, "25/12/23, 2:05 a.m. - A: m", "2023-12-25T02:05:00 A: m"},              // Android es-US, en-IN
		{OrderDMY, "25/12/23, 2:05 am - A: m", "2023-12-25T02:05:00 A: m"},                // lower case
		{OrderMDY, "12/25/23, 12:05 AM - A: m", "2023-12-25T00:05:00 A: m"},               // midnight
		{OrderMDY, "12/25/23, 12:05 PM - A: m", "2023-12-25T12:05:00 A: m"},               // noon
		{OrderYMD, "2023-12-25, 14:05 - A: m", "2023-12-25T14:05:00 A: m"},                // ISO
		{OrderDMY, "2023/12/25, 14:05 - A: m", "2023-12-25T14:05:00 A: m"},                // a 4-digit year first wins
		{OrderDMY, "25-12-2023 14:05 - A: m", "2023-12-25T14:05:00 A: m"},                 // dashes, no comma
		{OrderDMY, "03-06-2018, 01.55 PM - a: m", "2018-06-03T13:55:00 a: m"},             // dotted time
		{OrderDMY, "25/12/2023, 14:05 – A: m", "2023-12-25T14:05:00 A: m"},                // en dash
		{OrderDMY, "[25/12/2023, 14:05:09] Deal team: " + lrm + "x", "2023-12-25T14:05:09 Deal team: " + lrm + "x"},
	}
	for _, c := range cases {
		h, _, ok := parseHeader(c.line, styleNone)
		if !ok {
			t.Errorf("%q: not a header", c.line)
			continue
		}
		st, err := h.stamp(c.order)
		if err != nil {
			t.Errorf("%q: %v", c.line, err)
			continue
		}
		if got := st.local() + " " + h.rest; got != c.want {
			t.Errorf("%q:\n got %q\nwant %q", c.line, got, c.want)
		}
	}
}

// TestNotHeaders: lines that continue a message although they start like a date.
func TestNotHeaders(t *testing.T) {
	for _, s := range []string{
		"2016-04-29 10:30:00", "12/25/23 is the closing date", "[1] signatures", "25/12/2023, 14:05 A: m",
		"25/12/2023 - A: m", "[25/12/2023] A: m", "14:05 - A: m", "25/12/2023, 14:05- A: m", "",
	} {
		if _, _, ok := parseHeader(s, styleNone); ok {
			t.Errorf("%q read as a message line", s)
		}
	}
	// an Android line inside an iOS chat (a pasted message) continues it, and vice versa
	if _, _, ok := parseHeader("25/12/2023, 14:05 - A: m", styleIOS); ok {
		t.Error("an Android line started a message in an iOS chat")
	}
	if _, _, ok := parseHeader("[25/12/2023, 14:05:09] A: m", styleAndroid); ok {
		t.Error("an iOS line started a message in an Android chat")
	}
}

func TestBadTimes(t *testing.T) {
	for _, s := range []string{"25/12/2023, 24:05 - A: m", "25/12/2023, 13:05 PM - A: m", "25/12/2023, 0:05 AM - A: m", "25/12/2023, 10:60 - A: m"} {
		h, _, ok := parseHeader(s, styleNone)
		if !ok {
			t.Fatalf("%q: not a header", s)
		}
		if _, err := h.stamp(OrderDMY); err == nil {
			t.Errorf("%q: accepted", s)
		}
	}
}

func TestPhoneID(t *testing.T) {
	for in, want := range map[string]string{
		"+1 (555) 010-0199":                       "+15550100199",
		"\u202a+49 151 12345678\u202c":            "+4915112345678",
		"+44" + nnbsp + "7700" + nnbsp + "900123": "+447700900123",
		"+33 6 12 34 56 78":                       "+33612345678",
		"Lisa Holmes":                             "",
		"+1 555 CALL":                             "",
		"+12":                                     "",
		"015112345678":                            "",
	} {
		got, ok := PhoneID(in)
		if got != want || ok != (want != "") {
			t.Errorf("PhoneID(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if got := participantID("~" + nnbsp + "Alex Reed"); got != "Alex Reed" {
		t.Errorf("a non-contact's name: %q", got)
	}
}
