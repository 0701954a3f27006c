package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Commands that only read load the config without the secret files: an operator who may
// look but cannot read the credentials (or a host where they are gone) still can.
func TestLoadWithoutSecretsLeavesTheSecretFilesAlone(t *testing.T) {
	path := newConfigDir(t, readFixture(t, "minimal.yaml"))
	if err := os.Remove(filepath.Join(filepath.Dir(path), "globalrelay.credentials")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil {
		t.Fatal("Load succeeded without the credentials file")
	}
	c, err := LoadWithoutSecrets(path)
	if err != nil {
		t.Fatalf("LoadWithoutSecrets: %v", err)
	}
	if c.GlobalRelay.Credentials != "" || len(c.Watches) != 1 {
		t.Fatalf("credentials %q, watches %d", c.GlobalRelay.Credentials.Reveal(), len(c.Watches))
	}
	// The rest is still checked.
	broken := newConfigDir(t, strings.Replace(readFixture(t, "minimal.yaml"), "path: inbox", "path: missing", 1))
	if _, err := LoadWithoutSecrets(broken); err == nil || !strings.Contains(err.Error(), "watches[0].path") {
		t.Fatalf("LoadWithoutSecrets of a broken config: %v", err)
	}
}
