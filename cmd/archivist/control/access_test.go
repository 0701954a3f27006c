package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/testwait"
)

// groupWith stands in for /etc/group holding OperatorGroup with gid.
func groupWith(gid int) func(string) (*user.Group, error) {
	return func(name string) (*user.Group, error) {
		if name != OperatorGroup {
			return nil, user.UnknownGroupError(name)
		}
		return &user.Group{Name: name, Gid: strconv.Itoa(gid)}, nil
	}
}

// foreignGID is a group the test process may give a file to: any group as root, its own
// group otherwise.
func foreignGID() int {
	if os.Getuid() == 0 {
		return 4242
	}
	return os.Getgid()
}

func socketFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "control.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return path
}

func modeAndGID(t *testing.T, path string) (os.FileMode, int) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm(), int(fi.Sys().(*syscall.Stat_t).Gid)
}

func TestSocketAccess(t *testing.T) {
	cases := map[string]struct {
		lookup   func(string) (*user.Group, error)
		mode     os.FileMode
		operator bool // the socket's group is the operator group
	}{
		"operator group exists": {groupWith(foreignGID()), 0o660, true},
		"no operator group":     {func(n string) (*user.Group, error) { return nil, user.UnknownGroupError(n) }, 0o600, false},
		"lookup fails":          {func(string) (*user.Group, error) { return nil, errors.New("/etc/group: I/O error") }, 0o600, false},
		"gid not a number":      {func(n string) (*user.Group, error) { return &user.Group{Name: n, Gid: "x"}, nil }, 0o600, false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := socketFile(t)
			_, gidBefore := modeAndGID(t, path)
			mode, err := setSocketAccess(path, c.lookup)
			if err != nil {
				t.Fatal(err)
			}
			gotMode, gid := modeAndGID(t, path)
			if mode != c.mode || gotMode != c.mode {
				t.Errorf("mode: returned %04o, on disk %04o, want %04o", mode, gotMode, c.mode)
			}
			if c.operator && gid != foreignGID() {
				t.Errorf("group %d, want the operator group %d", gid, foreignGID())
			}
			if !c.operator && gid != gidBefore {
				t.Errorf("group changed to %d without an operator group", gid)
			}
		})
	}
}

// A process that may not hand the socket to the group (not root, not a member: a developer's
// daemon on a machine where the package created the group) keeps it private.
func TestSocketAccessWithoutPermissionForTheGroupStaysPrivate(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root may give a file to any group")
	}
	groups, err := os.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	other := 4242
	for member := true; member; {
		member = other == os.Getgid()
		for _, g := range groups {
			member = member || g == other
		}
		if member {
			other++
		}
	}
	path := socketFile(t)
	mode, err := setSocketAccess(path, groupWith(other))
	if err != nil || mode != 0o600 {
		t.Fatalf("mode %04o, %v; want 0600 and no error", mode, err)
	}
	if m, _ := modeAndGID(t, path); m != 0o600 {
		t.Fatalf("on disk %04o, want 0600", m)
	}
}

func TestServeOpensTheSocketToTheOperatorGroup(t *testing.T) {
	saved := lookupGroup
	lookupGroup = groupWith(foreignGID())
	t.Cleanup(func() { lookupGroup = saved })
	svc, _ := newService(t)
	sock := filepath.Join(t.TempDir(), "control.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, sock, svc, nil) }()
	testwait.For(t, 5*time.Second, fmt.Sprintf("the socket to be 0660 group %d", foreignGID()), func() bool {
		mode, gid := statIfThere(sock)
		return mode == 0o660 && gid == foreignGID()
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func statIfThere(path string) (os.FileMode, int) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, -1
	}
	return fi.Mode().Perm(), int(fi.Sys().(*syscall.Stat_t).Gid)
}
