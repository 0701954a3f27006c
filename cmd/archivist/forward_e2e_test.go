package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/sandbox"
)

func TestE2EForwardsToEveryDestination(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(so *sandbox.Options, vars map[string]string) {
		so.SalesforcePublicKey = &key.PublicKey
		so.GenesysUser, so.GenesysPassword = "archivist", "genesys-pass"
		so.TalkdeskClientID, so.TalkdeskClientSecret = "td-client", "td-secret"
		vars["extra"] = `    forward: [service-cloud, genesys, talkdesk]
destinations:
  service-cloud:
    type: salesforce
    url: URL
    token_url: URL/services/oauth2/token
    client_id: consumer-key
    username: integration@example.com
    private_key_file: salesforce.key
    audience: https://login.salesforce.com
    org_id: 00D000000000001
    authorization_context: Partner1_ChannelDefinition1
    channel_address: channel-address
    end_user: end-user
    delivery_failed: true
  genesys:
    type: genesys
    url: URL
    username: archivist
    password_file: genesys.password
    chat_id: 0001PaBMYY3600R8
  talkdesk:
    type: talkdesk
    url: URL
    token_url: URL/oauth/token
    client_id: td-client
    client_secret_file: talkdesk.secret
`
	})
	cfg, _ := os.ReadFile(e.config)
	os.WriteFile(e.config, bytes.ReplaceAll(cfg, []byte("URL"), []byte(e.url)), 0o644)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	os.WriteFile(filepath.Join(e.dir, "salesforce.key"), pemKey, 0o600)
	os.WriteFile(filepath.Join(e.dir, "genesys.password"), []byte("genesys-pass\n"), 0o600)
	os.WriteFile(filepath.Join(e.dir, "talkdesk.secret"), []byte("td-secret\n"), 0o600)

	report := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("report "), 2000)...)
	e.write("q3.pdf", report)
	e.write("notes.txt", []byte("plain text: Salesforce does not take it"))
	d := e.start()
	await(t, 30*time.Second, "forwards delivered", func() bool {
		return len(e.sb.SalesforceInteractions()) == 1 && len(e.sb.GenesysUploads()) == 2 && len(e.sb.TalkdeskAttachments()) == 2
	})
	await(t, 10*time.Second, "refusal logged", func() bool { return d.logCount("file not forwarded") >= 1 })
	out := e.cli("show", "teams:notes.txt")
	if !strings.Contains(out, "service-cloud: not forwardable") {
		t.Errorf("show does not record the refusal:\n%s", out)
	}
	d.stop()
	sf := e.sb.SalesforceInteractions()[0]
	if got, _ := os.ReadFile(sf.Path); !bytes.Equal(got, report) || sf.FileName != "q3.pdf" {
		t.Errorf("salesforce received %s (%d bytes)", sf.FileName, len(got))
	}
	for _, u := range e.sb.GenesysUploads() {
		if u.Shared != 1 {
			t.Errorf("genesys document %s shared %d times", u.DocumentID, u.Shared)
		}
	}
	// Restarting sends nothing again anywhere.
	before := fmt.Sprint(len(e.sb.SalesforceInteractions()), len(e.sb.GenesysUploads()), len(e.sb.TalkdeskAttachments()), e.sb.Stats().Puts)
	d = e.start()
	await(t, 10*time.Second, "start-up scan", func() bool { return d.logCount("scan done") >= 1 })
	d.stop()
	if after := fmt.Sprint(len(e.sb.SalesforceInteractions()), len(e.sb.GenesysUploads()), len(e.sb.TalkdeskAttachments()), e.sb.Stats().Puts); after != before {
		t.Fatalf("restart sent again: %s -> %s", before, after)
	}
}
