package identity

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "identities.csv")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadAndResolve(t *testing.T) {
	p := write(t, "\uFEFFsource,id,email,name\r\n"+
		"slack,U01LISA,lisa.holmes@greenvaultcapital.com,Lisa Holmes\r\n"+
		"\r\n"+
		"Slack,U02BOT,bots@greenvaultcapital.com,\r\n"+
		"whatsapp,+4915112345678,jordan@greenvaultcapital.com,\"Davies, Jordan\"\r\n")
	d, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 3 {
		t.Fatalf("Len = %d, want 3", d.Len())
	}
	cases := []struct {
		name                     string
		source, id, email, xname string
		want                     Person
	}{
		{"export email wins", "slack", "U01LISA", "lisa@export.example", "Lisa H.",
			Person{"lisa@export.example", "Lisa H.", true}},
		{"directory fills email and name", "slack", "U01LISA", "", "",
			Person{"lisa.holmes@greenvaultcapital.com", "Lisa Holmes", true}},
		{"invalid export email falls to directory", "slack", "U01LISA", "not an email", "Lisa",
			Person{"lisa.holmes@greenvaultcapital.com", "Lisa", true}},
		{"source is case-insensitive, empty name falls to id", "SLACK", "U02BOT", "", "",
			Person{"bots@greenvaultcapital.com", "U02BOT", true}},
		{"quoted name with comma", "whatsapp", "+4915112345678", "", "",
			Person{"jordan@greenvaultcapital.com", "Davies, Jordan", true}},
		{"id is exact", "slack", "u01lisa", "", "",
			Person{"u01lisa.slack@unresolved.invalid", "u01lisa", false}},
		{"unknown falls back", "slack", "U012AB3CD", "", "Ghost",
			Person{"u012ab3cd.slack@unresolved.invalid", "Ghost", false}},
		{"other source does not match", "teams", "U01LISA", "", "",
			Person{"u01lisa.teams@unresolved.invalid", "U01LISA", false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := d.Resolve(c.source, c.id, c.email, c.xname); got != c.want {
				t.Fatalf("Resolve = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestNilDirectory(t *testing.T) {
	var d *Directory
	if got := d.Resolve("slack", "U1", "a@example.com", "A"); got != (Person{"a@example.com", "A", true}) {
		t.Fatalf("export email: %+v", got)
	}
	if got := d.Resolve("slack", "U1", "", ""); got != (Person{"u1.slack@unresolved.invalid", "U1", false}) {
		t.Fatalf("fallback: %+v", got)
	}
	if d.Len() != 0 {
		t.Fatal("nil Len")
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct{ name, content, want string }{
		{"empty", "", ":1: empty file"},
		{"no header", "slack,U1,a@example.com,A\n", `:1: header is "slack,U1,a@example.com,A"`},
		{"header order", "id,source,email,name\n", ":1: header is"},
		{"short row", "source,id,email,name\nslack,U1,a@example.com\n", ":2: wrong number of fields"},
		{"long row", "source,id,email,name\nslack,U1,a@example.com,A,x\n", ":2: wrong number of fields"},
		{"bad email", "source,id,email,name\nslack,U1,a@example.com,A\nslack,U2,Bob <b@example.com>,B\n", `:3: email "Bob <b@example.com>" is not an address`},
		{"no at", "source,id,email,name\nslack,U1,example.com,A\n", ":2: email"},
		{"empty email", "source,id,email,name\nslack,U1,,A\n", ":2: email"},
		{"empty id", "source,id,email,name\nslack, ,a@example.com,A\n", ":2: id is empty"},
		{"empty source", "source,id,email,name\n,U1,a@example.com,A\n", ":2: source is empty"},
		{"duplicate", "source,id,email,name\nslack,U1,a@example.com,A\nSLACK,U1,b@example.com,B\n", `:3: slack id "U1" is already defined on line 2`},
		{"bad quote", "source,id,email,name\nslack,U1,a@example.com,\"A\n", ":2:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := write(t, c.content)
			_, err := Load(p)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), p+":") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want it to name the file and contain %q", err, c.want)
			}
		})
	}
	_, err := Load(filepath.Join(t.TempDir(), "missing.csv"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.csv: cannot open") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestFallbackForms(t *testing.T) {
	cases := map[[2]string]string{
		{"slack", "U012AB3CD"}:         "u012ab3cd.slack@unresolved.invalid",
		{"whatsapp", "+4915112345678"}: "4915112345678.whatsapp@unresolved.invalid",
		{"teams", "0b3c-11aa"}:         "0b3c-11aa.teams@unresolved.invalid",
		{"slack", ""}:                  "unknown.slack@unresolved.invalid",
	}
	for in, want := range cases {
		if got := Fallback(in[0], in[1]); got != want {
			t.Errorf("Fallback(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
	// Lossy ids get a hash so that two of them never share an address (ids that differ only
	// in case do: addresses are compared case-insensitively anyway).
	seen := map[string]string{}
	for _, id := range []string{"José Pérez", "jose perez", "Jose Perez", "josé pérez", "B123", "..", "...", strings.Repeat("a", 60), strings.Repeat("a", 61)} {
		got := Fallback("whatsapp", id)
		if !ValidEmail(got) || !strings.HasSuffix(got, ".whatsapp@unresolved.invalid") || got != strings.ToLower(got) {
			t.Errorf("Fallback(%q) = %q: not a lowercase address in the reserved domain", id, got)
		}
		if prev, ok := seen[got]; ok {
			t.Errorf("Fallback(%q) = Fallback(%q) = %q", id, prev, got)
		}
		seen[got] = id
	}
}
