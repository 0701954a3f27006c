package config

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestSecretIsNeverPrinted(t *testing.T) {
	c := mustLoad(t, newConfigDir(t, readFixture(t, "minimal.yaml")))
	secret := c.GlobalRelay.Credentials.Reveal()
	if secret != testCredentials {
		t.Fatalf("Reveal() = %q, want %q", secret, testCredentials)
	}
	leaks := []string{secret, hex.EncodeToString([]byte(secret)), strings.ToUpper(hex.EncodeToString([]byte(secret)))}

	outputs := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
		outputs[verb+" of *Config"] = fmt.Sprintf(verb, c)
		outputs[verb+" of Config"] = fmt.Sprintf(verb, *c)
		outputs[verb+" of GlobalRelay"] = fmt.Sprintf(verb, c.GlobalRelay)
		outputs[verb+" of Secret"] = fmt.Sprintf(verb, c.GlobalRelay.Credentials)
	}
	outputs["Sprint"] = fmt.Sprint(c.GlobalRelay.Credentials)
	outputs["String"] = c.GlobalRelay.Credentials.String()
	outputs["GoString"] = c.GlobalRelay.Credentials.GoString()
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs["json.Marshal"] = string(js)
	text, err := c.GlobalRelay.Credentials.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	outputs["MarshalText"] = string(text)
	y, err := yaml.Marshal(struct{ S Secret }{c.GlobalRelay.Credentials})
	if err != nil {
		t.Fatal(err)
	}
	outputs["yaml.Marshal"] = string(y)

	for name, out := range outputs {
		for _, leak := range leaks {
			if strings.Contains(out, leak) {
				t.Errorf("%s reveals the secret: %s", name, out)
			}
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("%s does not say [redacted]: %s", name, out)
		}
	}
	if got := outputs["%q of Secret"]; got != `"[redacted]"` {
		t.Errorf("%%q of Secret = %s, want %q", got, `"[redacted]"`)
	}
	if !strings.Contains(string(js), `"Credentials":"[redacted]"`) {
		t.Errorf("json.Marshal of Config: %s", js)
	}
}

func TestURLPasswordNotInError(t *testing.T) {
	text := replaceOnce(t, readFixture(t, "minimal.yaml"), "url: https://conversations.example/v2/", "url: https://alice-operator:hunter2@conversations.example/v2")
	path := newConfigDir(t, text)
	_, err := Load(path)
	if err == nil {
		t.Fatal("Load succeeded")
	}
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "alice-operator") {
		t.Errorf("error reveals the user info: %v", err)
	}
	assertErrorLine(t, err, path, `globalrelay.url: "https://conversations.example/v2" must not contain a user name or password`)
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"5s", 5 * time.Second, ""},
		{"1m30s", 90 * time.Second, ""},
		{"0", 0, ""},
		{"-2s", -2 * time.Second, ""},
		{"5x", 0, `invalid duration "5x"`},
		{"30", 0, `invalid duration "30": add a unit, e.g. "30s" or "30m"`},
		{"", 0, `invalid duration ""`},
	}
	for _, tt := range tests {
		var d Duration
		err := d.UnmarshalText([]byte(tt.in))
		switch {
		case tt.wantErr != "":
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("UnmarshalText(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("UnmarshalText(%q): %v", tt.in, err)
		case d.Std() != tt.want:
			t.Errorf("UnmarshalText(%q) = %v, want %v", tt.in, d.Std(), tt.want)
		}
	}
	if s := fmt.Sprint(Duration(90 * time.Second)); s != "1m30s" {
		t.Errorf("Duration prints as %q, want 1m30s", s)
	}
	js, err := json.Marshal(Retry{MinDelay: Duration(time.Second), MaxDelay: Duration(5 * time.Minute)})
	if err != nil || string(js) != `{"MinDelay":"1s","MaxDelay":"5m0s"}` {
		t.Errorf("json.Marshal(Retry) = %s, %v", js, err)
	}
}

func ExampleSecret() {
	s := Secret("client-id:client-secret")
	fmt.Println(s)
	fmt.Printf("%+v %q %x\n", struct{ Token Secret }{s}, s, s)
	fmt.Println(len(s.Reveal()))
	// Output:
	// [redacted]
	// {Token:[redacted]} "[redacted]" [redacted]
	// 23
}
