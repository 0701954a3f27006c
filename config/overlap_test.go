package config

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Configurations whose places overlap destroy history; each is an error naming the key, also
// when a symlink hides the overlap.
func TestOverlapsAreErrors(t *testing.T) {
	minimal := readFixture(t, "minimal.yaml")
	symlink := func(target, name string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			if err := os.Symlink(filepath.Join(dir, target), filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	file := func(name string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, name), testCredentials, 0o600)
		}
	}
	const move = "    path: inbox\n    after: move\n"
	tests := []struct {
		name     string
		from, to string // as in TestLoadErrorsNameTheKey
		setup    func(t *testing.T, dir string)
		want     string
	}{
		{"socket is the journal", "", "control: {socket: state/journal.db}\n", nil,
			`control.socket: "$DIR/state/journal.db" is the journal`},
		{"socket is the journal through a symlink", "", "control: {socket: run/journal.db}\n", symlink("state", "run"),
			`control.socket: "$DIR/run/journal.db" (really "$DIR/state/journal.db") is the journal`},
		{"socket is an existing file", "", "control: {socket: state/notes.txt}\n", file("state/notes.txt"),
			`control.socket: "$DIR/state/notes.txt" exists and is not a socket`},
		{"socket inside a watch", "", "control: {socket: inbox/control.sock}\n", nil,
			`control.socket: "$DIR/inbox/control.sock" is inside watches[0].path "$DIR/inbox"`},
		{"journal inside a watch", "journal: state/journal.db", "journal: inbox/archivist/journal.db", nil,
			`journal: "$DIR/inbox/archivist/journal.db" is inside watches[0].path "$DIR/inbox"`},
		{"watch is the state folder", "path: inbox", "path: state", nil,
			`journal: "$DIR/state/journal.db" is inside watches[0].path "$DIR/state"`},
		{"watch is the state folder through a symlink", "path: inbox", "path: drop", symlink("state", "drop"),
			`journal: "$DIR/state/journal.db" is inside watches[0].path "$DIR/drop" (really "$DIR/state")`},
		{"two watches over one folder through a symlink", "", strings.Replace(secondWatch, "outbox", "teams-link", 1), symlink("inbox", "teams-link"),
			`watches[1].path: "$DIR/teams-link" (really "$DIR/inbox") is the same folder as watches[0].path "$DIR/inbox"`},
		{"two watches over one folder", "", strings.Replace(secondWatch, "outbox", "inbox", 1), nil,
			`watches[1].path: "$DIR/inbox" is the same folder as watches[0].path "$DIR/inbox"`},
		{"a watch nested in another", "", strings.Replace(secondWatch, "outbox", "inbox/sub", 1), file("inbox/sub/x"),
			`watches[1].path: "$DIR/inbox/sub" is inside watches[0].path "$DIR/inbox"`},
		{"a watch holding another", "path: inbox", "path: outbox/in", file("outbox/in/x"),
			`watches[0].path: "$DIR/outbox/in" is inside watches[1].path "$DIR/outbox"`},
		{"credentials inside a watch", "credentials_file: globalrelay.credentials", "credentials_file: inbox/gr.credentials", file("inbox/gr.credentials"),
			`globalrelay.credentials_file: "$DIR/inbox/gr.credentials" is inside watches[0].path "$DIR/inbox"`},
		{"a destination's secret inside a watch", "", "destinations:\n  chat: {type: genesys, url: https://genesys.example, username: u, password_file: inbox/chat.password}\n",
			file("inbox/chat.password"),
			`destinations.chat.password_file: "$DIR/inbox/chat.password" is inside watches[0].path "$DIR/inbox"`},
		{"done_dir inside the watch through a symlink", "    path: inbox\n", move + "    done_dir: in-link/done\n", symlink("inbox", "in-link"),
			`watches[0].done_dir: "$DIR/in-link/done" (really "$DIR/inbox/done") is inside the watch folder "$DIR/inbox"`},
		{"done_dir holding the watch", "    path: inbox\n", move + "    done_dir: .\n", nil,
			`watches[0].done_dir: "$DIR" holds the watch folder "$DIR/inbox"`},
		{"done_dir inside another watch", "    path: inbox\n", move + "    done_dir: outbox/done\n", nil,
			`watches[0].done_dir: "$DIR/outbox/done" is inside watches[1].path "$DIR/outbox"`},
		{"done_dir holding the journal", "    path: inbox\n", move + "    done_dir: state\n", nil,
			`watches[0].done_dir: "$DIR/state" holds the journal "$DIR/state/journal.db"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := minimal
			if tt.from == "" {
				text += tt.to
			} else {
				text = replaceOnce(t, text, tt.from, tt.to)
			}
			if strings.Contains(tt.name, "another watch") || strings.Contains(tt.name, "holding another") {
				text += secondWatch
			}
			path := newConfigDir(t, text)
			dir := filepath.Dir(path)
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			c, err := Load(path)
			if err == nil {
				t.Fatalf("Load succeeded, want an error containing %q; config: %+v", tt.want, c)
			}
			assertErrorLine(t, err, path, strings.ReplaceAll(tt.want, "$DIR", dir))
		})
	}
}

// after: move renames files into done_dir, which cannot cross file systems: a done_dir on
// another one is refused at load, not with "path escapes root" at the first move.
func TestDoneDirOnAnotherFileSystem(t *testing.T) {
	other, err := os.MkdirTemp("/dev/shm", "archivist-done-")
	if err != nil {
		t.Skipf("no tmpfs at /dev/shm: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(other) })
	done := filepath.Join(other, "teams.done") // not created yet: its parent is examined
	path := newConfigDir(t, replaceOnce(t, readFixture(t, "minimal.yaml"), "    path: inbox\n",
		"    path: inbox\n    after: move\n    done_dir: "+done+"\n"))
	var a, b syscall.Stat_t
	if syscall.Stat(filepath.Dir(path), &a) != nil || syscall.Stat(other, &b) != nil || a.Dev == b.Dev {
		t.Skip("/dev/shm is on the test folder's file system")
	}
	_, err = Load(path)
	if err == nil {
		t.Fatal("Load succeeded")
	}
	assertErrorLine(t, err, path, `watches[0].done_dir: "`+done+`" is on another file system than the watch folder "`+
		filepath.Join(filepath.Dir(path), "inbox")+`"`)
}

// What does not overlap still loads: a stale socket left by a crash (the daemon replaces it),
// a symlinked watch folder alone, the default done_dir beside the watch.
func TestNoOverlapLoads(t *testing.T) {
	text := replaceOnce(t, readFixture(t, "minimal.yaml"), "    path: inbox\n", "    path: in-link\n    after: move\n") +
		"control: {socket: state/control.sock}\n"
	path := newConfigDir(t, text)
	dir := filepath.Dir(path)
	if err := os.Symlink(filepath.Join(dir, "inbox"), filepath.Join(dir, "in-link")); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(dir, "state", "control.sock"))
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // a stale socket, as a crash leaves it
	mustLoad(t, path)
}
