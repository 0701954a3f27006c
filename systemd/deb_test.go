package systemd

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// debFiles are the package's files with their permissions and owner, as dpkg-deb --contents
// lists them.
var debFiles = map[string]string{
	"./usr/bin/archivist":                                  "-rwxr-xr-x root/root",
	"./usr/lib/systemd/system/archivist.service":           "-rw-r--r-- root/root",
	"./usr/lib/sysusers.d/archivist.conf":                  "-rw-r--r-- root/root",
	"./etc/archivist/archivist.yml":                        "-rw-r--r-- root/root",
	"./usr/share/doc/archivist/archivist.yml.example":      "-rw-r--r-- root/root",
	"./usr/share/doc/archivist/README.md":                  "-rw-r--r-- root/root",
	"./usr/share/doc/archivist/systemd.md":                 "-rw-r--r-- root/root",
	"./usr/share/doc/archivist/CHANGELOG.md":               "-rw-r--r-- root/root",
	"./usr/share/doc/archivist/copyright":                  "-rw-r--r-- root/root",
	"./usr/share/man/man1/archivist.1":                     "-rw-r--r-- root/root",
	"./usr/share/man/man1/archivist-status.1":              "-rw-r--r-- root/root",
	"./usr/share/man/man1/archivist-check-config.1":        "-rw-r--r-- root/root",
	"./usr/share/bash-completion/completions/archivist":    "-rw-r--r-- root/root",
	"./usr/share/zsh/vendor-completions/_archivist":        "-rw-r--r-- root/root",
	"./usr/share/fish/vendor_completions.d/archivist.fish": "-rw-r--r-- root/root",
}

// manPage is the path of a command's man page in the package: one for every command.
var manPage = regexp.MustCompile(`^\./usr/share/man/man1/archivist(-[a-z-]+)?\.1$`)

func command(t *testing.T, name string, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

// TestDebPackage builds the .deb with `make deb`, checks its control data and files, installs
// it into an empty root with dpkg (the maintainer scripts run with DPKG_ROOT set), runs the
// installed binary, and checks that a local edit of the conffile outlives a reinstall and
// the removal of the package.
func TestDebPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and nfpm; skipped in -short")
	}
	dpkgDeb := requireTool(t, "dpkg-deb")
	dpkg := requireTool(t, "dpkg")
	out := t.TempDir()
	build := t.TempDir() // the host binary that writes the man pages and completions, and those
	command(t, "make", "-C", "..", "--no-print-directory", "deb", "DEB_DIR="+out, "BIN="+filepath.Join(build, "archivist"),
		"DEB_BINARY="+filepath.Join(t.TempDir(), "archivist"), "DEB_VERSION=0.1.0~test")
	deb := filepath.Join(out, "archivist_0.1.0~test_"+runtime.GOARCH+".deb")

	info := command(t, dpkgDeb, "--field", deb, "Package", "Version", "Architecture")
	if want := "Package: archivist\nVersion: 0.1.0~test\nArchitecture: " + runtime.GOARCH + "\n"; info != want {
		t.Errorf("control fields\n%s\nwant\n%s", info, want)
	}
	if conffiles := command(t, dpkgDeb, "--info", deb, "conffiles"); conffiles != "/etc/archivist/archivist.yml\n" {
		t.Errorf("conffiles %q, want only /etc/archivist/archivist.yml", conffiles)
	}
	// The unit's ExecReload= sends the SIGHUP with /bin/kill, which is procps's: minimal roots
	// (containers, mmdebstrap) lack it, and every reload failed there with 203/EXEC.
	if depends := command(t, dpkgDeb, "--field", deb, "Depends"); depends != "procps\n" {
		t.Errorf("Depends: %q, want procps (/bin/kill, for ExecReload=)", depends)
	}
	postinst := command(t, dpkgDeb, "--info", deb, "postinst")
	if regexp.MustCompile(`(?m)^[ \t]*systemctl[ \t]+([^ \t\n]+[ \t]+)*(enable|start)\b`).MatchString(postinst) {
		t.Errorf("postinst enables or starts the unconfigured service:\n%s", postinst)
	}
	checkDebContents(t, command(t, dpkgDeb, "--contents", deb))

	root := dpkgRoot(t)
	dpkgIn := func(args ...string) string {
		// The empty root has none of the package's dependencies (procps).
		return command(t, dpkg, append([]string{"--root=" + root, "--force-script-chrootless", "--force-not-root",
			"--force-depends", "--log=/dev/null"}, args...)...)
	}
	dpkgIn("--install", deb)
	if v := command(t, filepath.Join(root, "usr/bin/archivist"), "version"); !strings.HasPrefix(v, "archivist ") {
		t.Errorf("installed archivist version: %q", v)
	}
	checkInstalledRoot(t, root)
	checkExampleConfig(t, root)

	conf := filepath.Join(root, "etc/archivist/archivist.yml")
	edited := append(readFile(t, conf), "# a site's edit\n"...)
	if err := os.WriteFile(conf, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	dpkgIn("--install", deb)
	if !bytes.Equal(readFile(t, conf), edited) {
		t.Error("reinstalling the package replaced the edited /etc/archivist/archivist.yml")
	}
	dpkgIn("--remove", "archivist")
	if _, err := os.Stat(filepath.Join(root, "usr/bin/archivist")); !os.IsNotExist(err) {
		t.Errorf("archivist still installed after dpkg --remove: %v", err)
	}
	if !bytes.Equal(readFile(t, conf), edited) {
		t.Error("dpkg --remove did not keep the edited /etc/archivist/archivist.yml")
	}
}

func checkDebContents(t *testing.T, contents string) {
	t.Helper()
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(contents), "\n") {
		f := strings.Fields(line) // perms owner size date time path
		if len(f) == 6 && !strings.HasPrefix(f[0], "d") {
			got[f[5]] = f[0] + " " + f[1]
		}
	}
	for path, want := range debFiles {
		if got[path] != want {
			t.Errorf("%s: %q, want %q", path, got[path], want)
		}
	}
	for path := range got {
		if _, ok := debFiles[path]; !ok && !manPage.MatchString(path) {
			t.Errorf("unexpected file in the package: %s", path)
		}
	}
}

// checkExampleConfig runs the installed archivist check-config on the installed example
// configuration: it must refuse it (exit 78, EX_CONFIG) and name what is left to fill in,
// the credentials file and the watch folder, instead of starting on placeholders.
func checkExampleConfig(t *testing.T, root string) {
	t.Helper()
	conf := filepath.Join(root, "etc/archivist/archivist.yml")
	cmd := exec.Command(filepath.Join(root, "usr/bin/archivist"), "check-config", "--config", conf)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 78 {
		t.Fatalf("check-config of the installed example: %v (want exit 78)\n%s", err, out)
	}
	for _, want := range []string{"config " + conf, "globalrelay.credentials_file", "watches[0].path"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("check-config of the installed example does not name %q:\n%s", want, out)
		}
	}
}

// dpkgRoot is an empty root with the database dpkg --root expects.
func dpkgRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"var/lib/dpkg/status", "var/lib/dpkg/available"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// checkInstalledRoot: postinst created the user and the operator group in the root (where
// systemd-sysusers exists) and enabled nothing.
func checkInstalledRoot(t *testing.T, root string) {
	t.Helper()
	if _, err := exec.LookPath("systemd-sysusers"); err == nil {
		if !regexp.MustCompile(`(?m)^archivist:x:\d+:\d+:`).Match(readFile(t, filepath.Join(root, "etc/passwd"))) {
			t.Error("postinst did not create the archivist user in the root")
		}
		if !regexp.MustCompile(`(?m)^archivist:x:\d+:`).Match(readFile(t, filepath.Join(root, "etc/group"))) {
			t.Error("postinst did not create the archivist group in the root")
		}
	}
	wants, _ := filepath.Glob(filepath.Join(root, "etc/systemd/system/*/archivist.service"))
	if len(wants) > 0 {
		t.Errorf("the service was enabled: %v", wants)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
