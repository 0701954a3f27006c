package config

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	destKeyOnce sync.Once
	destKey     *rsa.PrivateKey
)

func testRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	destKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		destKey = k
	})
	return destKey
}

const destinationsYAML = `
destinations:
  service-cloud:
    type: salesforce
    url: https://example.my.salesforce-scrt.com/
    token_url: https://login.salesforce.com/services/oauth2/token
    client_id: 3MVG9-consumer
    username: integration@example.com
    private_key_file: secrets/salesforce.key
    audience: https://login.salesforce.com
    org_id: 00D5g000000ABCD
    authorization_context: Partner1_Channel
    channel_address: 72a6a4ec-acbc-44f6-b2b9-e444248ca843
    end_user: archive-bot
    delivery_failed: true
  genesys:
    type: genesys
    url: https://gws.example.com
    username: agent7
    password_file: secrets/genesys.password
    chat_id: 0001PaBMYY3600R8
  talkdesk:
    type: talkdesk
    url: https://api.talkdeskapp.com
    token_url: https://acme.talkdeskid.com/oauth/token
    client_id: td-client
    client_secret_file: secrets/talkdesk.secret
`

// newDestinationsDir is newConfigDir plus the secret files destinationsYAML names, and the
// first watch forwarding to forward.
func newDestinationsDir(t *testing.T, extra, forward string) string {
	t.Helper()
	text := readFixture(t, "minimal.yaml") + forward + destinationsYAML + extra
	path := newConfigDir(t, text)
	dir := filepath.Join(filepath.Dir(path), "secrets")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(testRSAKey(t))})
	writeFile(t, filepath.Join(dir, "salesforce.key"), string(keyPEM), 0o600)
	writeFile(t, filepath.Join(dir, "genesys.password"), "gws-password\n", 0o600)
	writeFile(t, filepath.Join(dir, "talkdesk.secret"), "td-secret\n", 0o600)
	return path
}

const forwardBoth = "    forward: [service-cloud, talkdesk]\n"

func TestLoadDestinations(t *testing.T) {
	path := newDestinationsDir(t, "", forwardBoth)
	c := mustLoad(t, path)
	dir := filepath.Dir(path)
	if got := c.Watches[0].Forward; len(got) != 2 || got[0] != "service-cloud" || got[1] != "talkdesk" {
		t.Errorf("forward = %v", got)
	}
	sf := c.Destinations["service-cloud"]
	if sf.Type != DestinationSalesforce || sf.URL != "https://example.my.salesforce-scrt.com" || !sf.DeliveryFailed ||
		sf.PrivateKeyFile != filepath.Join(dir, "secrets", "salesforce.key") || sf.PrivateKey == nil || !sf.PrivateKey.Equal(testRSAKey(t)) ||
		sf.EndUser != "archive-bot" || sf.OrgID != "00D5g000000ABCD" {
		t.Errorf("service-cloud = %+v", sf)
	}
	g := c.Destinations["genesys"]
	if g.Password.Reveal() != "gws-password" || g.ChatID != "0001PaBMYY3600R8" || g.Username != "agent7" {
		t.Errorf("genesys = %+v", g)
	}
	td := c.Destinations["talkdesk"]
	if td.ClientSecret.Reveal() != "td-secret" || td.ClientSecretFile != filepath.Join(dir, "secrets", "talkdesk.secret") {
		t.Errorf("talkdesk = %+v", td)
	}
	if got := c.DestinationNames(); strings.Join(got, ",") != "genesys,service-cloud,talkdesk" {
		t.Errorf("DestinationNames = %v", got)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %v", c.Warnings)
	}
}

func TestNoDestinationsIsFine(t *testing.T) {
	c := mustLoad(t, newConfigDir(t, readFixture(t, "minimal.yaml")))
	if c.Destinations != nil || c.Watches[0].Forward != nil {
		t.Errorf("destinations %v, forward %v", c.Destinations, c.Watches[0].Forward)
	}
}

func TestDestinationErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name           string
		from, to       string // replace in destinationsYAML
		forward, extra string
		want           string
	}{
		{"key of another type", "    chat_id: 0001PaBMYY3600R8\n", "    chat_id: 0001PaBMYY3600R8\n    org_id: 00D5g000000ABCD\n", "", "",
			`destinations.genesys.org_id: not a key of a genesys destination`},
		{"false bool of another type", "    client_secret_file: secrets/talkdesk.secret\n", "    client_secret_file: secrets/talkdesk.secret\n    delivery_failed: false\n", "", "",
			`destinations.talkdesk.delivery_failed: not a key of a talkdesk destination`},
		{"unknown key", "    chat_id:", "    chatid:", "", "", `destinations.genesys.chatid: unknown key, did you mean "chat_id"?`},
		{"missing required", "    audience: https://login.salesforce.com\n", "", "", "", `destinations.service-cloud.audience: required`},
		{"missing type", "    type: talkdesk\n", "", "", "", `destinations.talkdesk.type: required: one of genesys, salesforce, talkdesk`},
		{"bad type", "type: talkdesk", "type: teams", "", "", `destinations.talkdesk.type: "teams" must be one of genesys, salesforce, talkdesk`},
		{"bad url", "url: https://gws.example.com", "url: gws.example.com", "", "", `destinations.genesys.url: "gws.example.com" must be an absolute http or https URL`},
		{"bad org id", "org_id: 00D5g000000ABCD", "org_id: 00D", "", "", `destinations.service-cloud.org_id: "00D" must be 15 or 18 letters and digits`},
		{"missing secret", "secrets/genesys.password", "secrets/missing", "", "", `destinations.genesys.password_file: "$DIR/secrets/missing": no such file`},
		{"key not a key", "secrets/salesforce.key", "secrets/genesys.password", "", "", `destinations.service-cloud.private_key_file: "$DIR/secrets/genesys.password": no PEM block`},
		{"bad name", "  talkdesk:\n    type", "  Talk_Desk:\n    type", "", "", `destinations.Talk_Desk: destination name "Talk_Desk" must match [a-z0-9-]+`},
		{"forward unknown", "", "", "    forward: [service-cloud, crm]\n", "", `watches[0].forward[1]: "crm" is not a destination; known: genesys, service-cloud, talkdesk`},
		{"forward twice", "", "", "    forward: [genesys, genesys]\n", "", `watches[0].forward[1]: "genesys" is listed twice (also forward[0])`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := newDestinationsDir(t, tt.extra, tt.forward)
			if tt.from != "" {
				b, _ := os.ReadFile(path)
				if strings.Count(string(b), tt.from) != 1 {
					t.Fatalf("%q does not occur once", tt.from)
				}
				writeFile(t, path, strings.Replace(string(b), tt.from, tt.to, 1), 0o644)
			}
			_, err := Load(path)
			if err == nil {
				t.Fatal("no error")
			}
			want := "config " + path + ": " + strings.ReplaceAll(tt.want, "$DIR", filepath.Dir(path))
			found := false
			for _, line := range strings.Split(err.Error(), "\n") {
				found = found || strings.HasPrefix(line, want)
			}
			if !found {
				t.Errorf("error:\n%v\nwant a line starting with:\n%s", err, want)
			}
			var ke *KeyError
			if !errors.As(err, &ke) {
				t.Error("not a *KeyError")
			}
		})
	}
}

func TestDestinationSecretsAreRedacted(t *testing.T) {
	c := mustLoad(t, newDestinationsDir(t, "", ""))
	g := c.Destinations["genesys"]
	if s := strings.Join([]string{g.Password.String(), c.Destinations["talkdesk"].ClientSecret.String()}, " "); strings.Contains(s, "gws-password") || strings.Contains(s, "td-secret") {
		t.Errorf("secret printed: %s", s)
	}
}

func TestValidChatID(t *testing.T) {
	for id, want := range map[string]bool{
		"0001PaBMYY3600R8": true, "a-b_c": true, strings.Repeat("x", 128): true,
		"": false, strings.Repeat("x", 129): false, "a/b": false, "a b": false, "ä": false,
	} {
		if got := ValidChatID(id); got != want {
			t.Errorf("ValidChatID(%q) = %v", id, got)
		}
	}
}
