package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

const (
	clientID = "archivist-client"
	secret   = "Sup3r/S3cret+Value=x"
)

var cred = base64.StdEncoding.EncodeToString([]byte(clientID + ":" + secret))

// echoes are the forms a careless server may send a secret back in.
func echoes(s string) []string {
	j, _ := json.Marshal(s)
	return []string{s, url.QueryEscape(s), hexEscape.ReplaceAllStringFunc(url.QueryEscape(s), strings.ToLower), url.PathEscape(s),
		string(j[1 : len(j)-1]), strings.ReplaceAll(string(j[1:len(j)-1]), "/", `\/`)}
}

func TestCredentialEveryForm(t *testing.T) {
	r := New()
	r.Credential(cred + "\n")
	for _, s := range []string{cred, clientID + ":" + secret, secret} {
		for _, e := range echoes(s) {
			got := r.String("refused: <" + e + "> end")
			if strings.Contains(got, e) || strings.Contains(got, secret) || !strings.Contains(got, Mask) {
				t.Errorf("%q: not masked: %q", e, got)
			}
		}
	}
	// The client id alone is not a secret: it stays, so an operator can tell which one failed.
	if got := r.String("unknown client " + clientID); got != "unknown client "+clientID {
		t.Errorf("client id masked: %q", got)
	}
}

func TestRawCredentialPair(t *testing.T) {
	r := New()
	r.Credential("user:" + secret) // not base64: the pair itself
	if got := r.String("bad password " + secret); strings.Contains(got, secret) {
		t.Fatalf("secret part not masked: %q", got)
	}
}

func TestIssuedTokensAreBounded(t *testing.T) {
	r := New()
	for i := range maxIssued + 10 {
		r.Issued(fmt.Sprintf("token-%04d-abcdefgh", i))
	}
	last := fmt.Sprintf("token-%04d-abcdefgh", maxIssued+9)
	if got := r.String("Bearer " + last); got != "Bearer "+Mask {
		t.Fatalf("newest token: %q", got)
	}
	first := "token-0000-abcdefgh"
	if got := r.String(first); got != first {
		t.Fatalf("the oldest token is still kept (%q): the set grows without bound", got)
	}
}

func TestBodyMasksThenCaps(t *testing.T) {
	r := New()
	tok := strings.Repeat("T", 100)
	r.Issued(tok)
	// A token that starts just before the cap is masked whole, not cut into a visible prefix.
	body := []byte(strings.Repeat("a", 500) + tok + strings.Repeat("b", 100))
	got := r.Body(body, false, 512)
	if strings.Contains(got, "TTTT") || !strings.Contains(got, Mask) || len(got) > 512+len("…") {
		t.Fatalf("body %q", got)
	}
	// A read that ends inside a secret drops what was read of it.
	got = r.Body([]byte("x "+tok[:40]), true, 512)
	if strings.Contains(got, "TTTT") {
		t.Fatalf("cut secret kept: %q", got)
	}
	if got := r.Body([]byte("plain\xff text "), false, 512); got != "plain? text" {
		t.Fatalf("plain body %q", got)
	}
}

func TestPrivateKeyLines(t *testing.T) {
	r := New()
	der := bytes.Repeat([]byte{0x30, 0x82, 0x04, 0xa4, 0x02, 0x01, 0x00}, 40)
	b64 := base64.StdEncoding.EncodeToString(der)
	pemText := "-----BEGIN RSA PRIVATE KEY-----\n" + b64[:64] + "\n" + b64[64:128] + "\n-----END RSA PRIVATE KEY-----\n"
	r.PrivateKey([]byte(pemText), der)
	got := r.String("echo " + b64[64:128] + " and " + b64[128:192])
	if strings.Contains(got, b64[64:128]) || strings.Contains(got, b64[128:192]) {
		t.Fatalf("key material kept: %q", got)
	}
}

func TestHookMasksMessageAndFields(t *testing.T) {
	r := New()
	r.Secret(secret)
	var buf bytes.Buffer
	log := logrus.New()
	log.SetOutput(&buf)
	log.SetFormatter(&logrus.JSONFormatter{})
	log.AddHook(Hook{R: r})
	l := log.WithField("body", "x "+secret)
	l.WithError(errors.New("refused " + secret)).Warn("got " + secret)
	l.Info("again")
	if strings.Contains(buf.String(), secret) || strings.Count(buf.String(), Mask) != 4 {
		t.Fatalf("log: %s", buf.String())
	}
}

func TestShortSecretsAreNotMasked(t *testing.T) {
	r := New()
	r.Secret("ab")
	r.Credential(base64.StdEncoding.EncodeToString([]byte("id:short")))
	if got := r.String("about the id:x short"); got != "about the id:x short" {
		t.Fatalf("%q", got)
	}
}
