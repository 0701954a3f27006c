package systemd

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// makeInstall runs a target of the repository's Makefile with DESTDIR and PREFIX. BIN points
// the build into the test's folder so that the working tree is left alone.
func makeInstall(t *testing.T, target, destdir, prefix, bin string) {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	cmd := exec.Command("make", "-C", "..", "--no-print-directory", target,
		"DESTDIR="+destdir, "PREFIX="+prefix, "BIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make %s: %v\n%s", target, err, out)
	}
}

// tree lists the regular files below root with their permission bits.
func tree(t *testing.T, root string) map[string]fs.FileMode {
	t.Helper()
	files := map[string]fs.FileMode{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files["/"+filepath.ToSlash(rel)] = info.Mode().Perm()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestMakeInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped in -short")
	}
	for _, prefix := range []string{"/usr/local", "/usr"} {
		t.Run(strings.TrimPrefix(prefix, "/"), func(t *testing.T) {
			destdir := t.TempDir()
			bin := filepath.Join(t.TempDir(), "archivist")
			makeInstall(t, "install", destdir, prefix, bin)

			want := map[string]fs.FileMode{
				prefix + "/bin/archivist":                             0o755,
				prefix + "/lib/systemd/system/archivist.service":      0o644,
				prefix + "/lib/sysusers.d/archivist.conf":             0o644,
				prefix + "/share/doc/archivist/README.md":             0o644,
				prefix + "/share/doc/archivist/systemd.md":            0o644,
				prefix + "/share/doc/archivist/archivist.yml.example": 0o644,
				"/etc/archivist/archivist.yml":                        0o644,
			}
			got := tree(t, destdir)
			for p, mode := range want {
				if m, ok := got[p]; !ok {
					t.Errorf("missing %s", p)
				} else if m != mode {
					t.Errorf("%s: mode %v, want %v", p, m, mode)
				}
			}
			for p := range got {
				if _, ok := want[p]; !ok {
					t.Errorf("unexpected file %s", p)
				}
			}

			// The unit names the installed binary and docs, and still verifies with it.
			unit, err := os.ReadFile(filepath.Join(destdir, prefix, "lib/systemd/system/archivist.service"))
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range []string{
				"ExecStart=" + prefix + "/bin/archivist run --config /etc/archivist/archivist.yml",
				"Documentation=file://" + prefix + "/share/doc/archivist/README.md",
			} {
				if !slices.Contains(strings.Split(string(unit), "\n"), line) {
					t.Errorf("installed unit lacks %q", line)
				}
			}
			verifyUnit(t, unitCopy(t, unit, prefix+"/bin/archivist", filepath.Join(destdir, prefix, "bin/archivist")))

			// systemd-sysusers finds the entry where it was installed.
			if sysusers, err := exec.LookPath("systemd-sysusers"); err == nil {
				if passwd := runSysusers(t, sysusers, "", destdir); !strings.Contains(passwd, "\narchivist:") && !strings.HasPrefix(passwd, "archivist:") {
					t.Errorf("systemd-sysusers --root=DESTDIR did not create archivist:\n%s", passwd)
				}
			}

			// A second install keeps the site's configuration.
			conf := filepath.Join(destdir, "etc/archivist/archivist.yml")
			if err := os.WriteFile(conf, []byte("# site configuration\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			makeInstall(t, "install", destdir, prefix, bin)
			if b, _ := os.ReadFile(conf); string(b) != "# site configuration\n" {
				t.Errorf("install overwrote an existing archivist.yml:\n%s", b)
			}

			// uninstall leaves only the configuration (and what systemd-sysusers wrote to /etc).
			makeInstall(t, "uninstall", destdir, prefix, bin)
			for p := range tree(t, destdir) {
				if p != "/etc/archivist/archivist.yml" && (!strings.HasPrefix(p, "/etc/") || strings.HasPrefix(p, "/etc/archivist/")) {
					t.Errorf("uninstall left %s", p)
				}
			}
			if _, err := os.Stat(conf); err != nil {
				t.Errorf("uninstall removed the configuration: %v", err)
			}
		})
	}
}
