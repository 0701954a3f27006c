package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCredentialPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "globalrelay.credentials"), []byte("secret\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	const fallback = "/etc/archivist/globalrelay.credentials"
	for _, tc := range []struct {
		desc, dir, name, want string
	}{
		{"credential present", dir, "globalrelay.credentials", filepath.Join(dir, "globalrelay.credentials")},
		{"credential absent", dir, "salesforce.key", fallback},
		{"not under systemd", "", "globalrelay.credentials", fallback},
		{"directory gone", filepath.Join(dir, "missing"), "globalrelay.credentials", fallback},
		{"not a base name", dir, "../" + filepath.Base(dir) + "/globalrelay.credentials", fallback},
		{"dot-dot", dir, "..", fallback},
		{"empty name", dir, "", fallback},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Setenv("CREDENTIALS_DIRECTORY", tc.dir)
			if got := CredentialPath(tc.name, fallback); got != tc.want {
				t.Errorf("CredentialPath(%q) = %q, want %q", tc.name, got, tc.want)
			}
		})
	}
}
