package systemd

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/archivist-project/archivist/config"
)

const (
	unitFile      = "archivist.service"
	unitExecStart = "/usr/bin/archivist" // the path the unit file names; `make install` rewrites it
	// maxExposure fails the test when a change loosens the sandbox: the score of
	// `systemd-analyze security --offline=yes` was 1.1 with systemd 252 (README.md).
	maxExposure = 1.5
)

// requireTool returns the path of a systemd tool. Without it the test is skipped on a
// developer's machine but fails in CI (CI=true), where .ci/run installs systemd.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found but CI=%s: .ci/run should have installed systemd: %v", name, os.Getenv("CI"), err)
	}
	t.Skipf("%s not installed (apt-get install systemd); the unit was not checked", name)
	return ""
}

// unitCopy writes the unit to a temporary folder with ExecStart pointing at binary, because
// systemd-analyze verify insists that the command exists on this machine.
func unitCopy(t *testing.T, unit []byte, from, binary string) string {
	t.Helper()
	if !bytes.Contains(unit, []byte("ExecStart="+from+" ")) {
		t.Fatalf("unit has no ExecStart=%s", from)
	}
	p := filepath.Join(t.TempDir(), unitFile)
	// ExecStart= and ExecReload= (check-config, with the "+" prefix) both run the binary.
	unit = bytes.ReplaceAll(unit, []byte("=+"+from+" "), []byte("=+"+binary+" "))
	if err := os.WriteFile(p, bytes.ReplaceAll(unit, []byte("="+from+" "), []byte("="+binary+" ")), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// verifyUnit runs systemd-analyze verify and fails on any output: verify reports most
// problems (unknown or misspelt settings, bad values) as warnings with exit status 0.
func verifyUnit(t *testing.T, path string) {
	t.Helper()
	analyze := requireTool(t, "systemd-analyze")
	cmd := exec.Command(analyze, "verify", path)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_COLOR=0", "SYSTEMD_PAGER=")
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify %s: %v\n%s", filepath.Base(path), err, out)
	}
}

func readUnit(t *testing.T) []byte {
	t.Helper()
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	return unit
}

func TestUnitVerifies(t *testing.T) {
	self, err := os.Executable() // any existing executable will do; this one always exists
	if err != nil {
		t.Fatal(err)
	}
	verifyUnit(t, unitCopy(t, readUnit(t), unitExecStart, self))
}

func TestUnitExposure(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze")
	cmd := exec.Command(analyze, "security", "--offline=yes", "--no-pager", unitFile)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_COLOR=0", "SYSTEMD_COLORS=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("offline")) {
			t.Skipf("this systemd-analyze cannot score a unit file offline (needs systemd 250): %s", out)
		}
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security --offline=yes %s: %.1f", unitFile, score)
	if score > maxExposure {
		t.Errorf("exposure %.1f, want at most %.1f: a change loosened the sandbox\n%s", score, maxExposure, out)
	}
}

// daemonSyscalls are the system calls the daemon was seen to make under strace (archiving
// files into the sandbox, reload, shutdown), plus those its control socket, metrics listener,
// `after: move|delete` and journal entries too big for a datagram (memfd_create) need. None may be refused by the unit's SystemCallFilter= lines.
var daemonSyscalls = strings.Fields(`
	read write close openat openat2 newfstatat fstat statx getdents64 pread64 pwrite64 lseek
	fdatasync fsync ftruncate flock fcntl ioctl mmap munmap madvise mprotect brk
	inotify_init1 inotify_add_watch inotify_rm_watch epoll_create1 epoll_ctl epoll_pwait eventfd2
	socket connect bind listen accept4 getsockopt setsockopt getsockname getpeername
	sendto sendmsg recvfrom recvmsg shutdown memfd_create
	renameat renameat2 unlinkat mkdirat fchmod fchmodat utimensat
	clone clone3 futex sched_getaffinity sched_yield nanosleep clock_gettime clock_nanosleep
	prlimit64 prctl getrandom rt_sigaction rt_sigprocmask rt_sigreturn sigaltstack tgkill
	gettid getpid getuid geteuid getgid getegid rseq set_robust_list set_tid_address exit exit_group
`)

func TestSyscallFilterAllowsTheDaemon(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze")
	out, err := exec.Command(analyze, "syscall-filter", "--no-pager").Output()
	if err != nil {
		t.Fatalf("systemd-analyze syscall-filter: %v", err)
	}
	groups := parseSyscallGroups(out)
	if len(groups["@system-service"]) == 0 {
		t.Fatalf("no @system-service group in systemd-analyze syscall-filter output:\n%s", out)
	}

	// The first line is an allow list, so each later line adds (or, with ~, removes) calls
	// in order, as systemd applies them.
	allowed := map[string]bool{}
	lines := 0
	for _, line := range strings.Split(string(readUnit(t)), "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "SystemCallFilter=")
		if !ok {
			continue
		}
		lines++
		deny := strings.HasPrefix(v, "~")
		if lines == 1 && deny {
			t.Fatal("the first SystemCallFilter= line is a deny list; this test expects an allow list")
		}
		for _, item := range strings.Fields(strings.TrimPrefix(v, "~")) {
			for _, call := range expandSyscalls(t, groups, item, nil) {
				allowed[call] = !deny
			}
		}
	}
	if lines == 0 {
		t.Fatal("the unit has no SystemCallFilter=")
	}
	for _, call := range daemonSyscalls {
		if !allowed[call] {
			t.Errorf("SystemCallFilter= refuses %s, which the daemon uses", call)
		}
	}
}

// parseSyscallGroups reads the output of `systemd-analyze syscall-filter`: a "@group" line,
// an indented comment, then one indented member (a call or a nested @group) per line.
func parseSyscallGroups(out []byte) map[string][]string {
	groups := map[string][]string{}
	var cur string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		field := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "@"):
			cur = field
		case field == "" || !strings.HasPrefix(line, " "):
			cur = ""
		case cur != "" && !strings.HasPrefix(field, "#"):
			groups[cur] = append(groups[cur], field)
		}
	}
	return groups
}

func expandSyscalls(t *testing.T, groups map[string][]string, item string, seen map[string]bool) []string {
	t.Helper()
	if !strings.HasPrefix(item, "@") {
		return []string{item}
	}
	members, ok := groups[item]
	if !ok {
		t.Fatalf("SystemCallFilter= names %s, which this systemd does not know", item)
	}
	if seen == nil {
		seen = map[string]bool{}
	}
	if seen[item] {
		return nil
	}
	seen[item] = true
	var calls []string
	for _, m := range members {
		calls = append(calls, expandSyscalls(t, groups, m, seen)...)
	}
	return calls
}

func TestSysusersCreatesTheUser(t *testing.T) {
	sysusers := requireTool(t, "systemd-sysusers")
	passwd := runSysusers(t, sysusers, "sysusers.d/archivist.conf")
	if !regexp.MustCompile(`(?m)^archivist:x:\d+:\d+:archivist compliance archiver:/var/lib/archivist:\S*nologin$`).MatchString(passwd) {
		t.Errorf("passwd has no archivist system user:\n%s", passwd)
	}
}

// The group is the operator group of the control socket, so it must exist before any user
// is added to it, and be the service user's primary group.
func TestSysusersCreatesTheOperatorGroup(t *testing.T) {
	sysusers := requireTool(t, "systemd-sysusers")
	root := t.TempDir()
	passwd := runSysusers(t, sysusers, "sysusers.d/archivist.conf", root)
	group, err := os.ReadFile(filepath.Join(root, "etc", "group"))
	if err != nil {
		t.Fatal(err)
	}
	g := regexp.MustCompile(`(?m)^archivist:x:(\d+):`).FindStringSubmatch(string(group))
	if g == nil {
		t.Fatalf("group has no archivist group:\n%s", group)
	}
	if !regexp.MustCompile(`(?m)^archivist:x:\d+:` + g[1] + `:`).MatchString(passwd) {
		t.Errorf("the archivist user's primary group is not archivist (gid %s):\n%s", g[1], passwd)
	}
}

// runSysusers applies conf (or, if conf is "", what the root's sysusers.d folders hold) to a
// scratch root and returns the passwd file it wrote there.
func runSysusers(t *testing.T, sysusers, conf string, root ...string) string {
	t.Helper()
	dir := t.TempDir()
	if len(root) > 0 {
		dir = root[0]
	}
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"--root=" + dir}
	if conf != "" {
		abs, err := filepath.Abs(conf)
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, abs)
	}
	if out, err := exec.Command(sysusers, args...).CombinedOutput(); err != nil {
		t.Fatalf("systemd-sysusers %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	passwd, err := os.ReadFile(filepath.Join(dir, "etc", "passwd"))
	if err != nil {
		t.Fatal(err)
	}
	return string(passwd)
}

// TestExampleConfigLoads keeps archivist.yml valid as the configuration grows: its absolute
// paths are moved into a scratch folder, where the files it names exist.
func TestExampleConfigLoads(t *testing.T) {
	text, err := os.ReadFile("archivist.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, sub := range []string{"etc", "state", "drop/teams"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "globalrelay.credentials"), []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	moved := strings.NewReplacer(
		"/etc/archivist/", dir+"/etc/",
		"/var/lib/archivist/", dir+"/state/",
		"/srv/drop/", dir+"/drop/",
	).Replace(string(text))
	if regexp.MustCompile(`:\s+/(etc|var|srv|usr)/`).MatchString(moved) {
		t.Fatalf("archivist.yml names a path this test does not move:\n%s", moved)
	}
	c, err := config.Parse(strings.NewReader(moved), dir)
	if err != nil {
		t.Fatalf("archivist.yml does not load:\n%v", err)
	}
	if base := filepath.Base(c.GlobalRelay.CredentialsFile); !bytes.Contains(readUnit(t), []byte("LoadCredential="+base+":")) {
		t.Errorf("the unit has no LoadCredential=%s:... for globalrelay.credentials_file", base)
	}
}

// A reload checks the new configuration first: systemctl reload then fails visibly on a file
// that would not load, and the SIGHUP that would make the daemon try it is never sent. The
// check runs with full privileges ("+"): systemd 252 to 256 hide the credentials from a
// sandboxed ExecReload=, so without it every reload fails (make test-systemd showed it).
func TestReloadChecksTheConfigFirst(t *testing.T) {
	var reloads []string
	for _, line := range strings.Split(string(readUnit(t)), "\n") {
		if v, ok := strings.CutPrefix(line, "ExecReload="); ok {
			reloads = append(reloads, v)
		}
	}
	if len(reloads) != 2 || !strings.HasPrefix(reloads[0], "+"+unitExecStart+" check-config --config /etc/archivist/archivist.yml") ||
		reloads[1] != "/bin/kill -HUP $MAINPID" {
		t.Fatalf("ExecReload= lines %q: want +check-config, then the SIGHUP", reloads)
	}
}
