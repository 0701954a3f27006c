package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Overlaps between the places the daemon reads, writes, moves or deletes destroy history: a
// control socket on the journal replaced the journal at start, a journal inside a watch was
// archived again and again, two watches over one folder archived every file twice, a done_dir
// on another file system failed every move. Paths are compared as the kernel resolves them
// (symlinks followed; for a path that does not exist yet, its nearest existing parent), so a
// symlinked spelling does not hide an overlap.

// place is a configured path under its key, with its real path.
type place struct {
	key, path, real string
}

func newPlace(key, path string) place {
	return place{key: key, path: path, real: realPath(path)}
}

// describe prints the configured path, and the real one when a symlink made it differ.
func (pl place) describe() string {
	if pl.real == pl.path {
		return fmt.Sprintf("%q", pl.path)
	}
	return fmt.Sprintf("%q (really %q)", pl.path, pl.real)
}

// inside reports whether pl is dir or below it.
func (pl place) inside(dir place) bool {
	return pl.real == dir.real || isWithin(dir.real, pl.real)
}

// realPath resolves the symlinks of the clean absolute path p. A path that does not exist
// (yet) is its nearest existing parent, resolved, joined with the rest.
func realPath(p string) string {
	rest := ""
	for cur := p; ; {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return p
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

// validateOverlaps reports every overlap of the journal, the control socket, the secret
// files, the watch folders and their done_dirs.
func (c *Config) validateOverlaps(p *problems) {
	var watches []place
	for i, w := range c.Watches {
		if w.Path != "" {
			watches = append(watches, newPlace(fmt.Sprintf("watches[%d].path", i), w.Path))
		}
	}
	c.validateWatchPairs(p, watches)
	var journal place
	if c.Journal != "" {
		journal = newPlace("journal", c.Journal)
		insideWatch(p, journal, watches, "the daemon would archive its own journal, again and again")
	}
	if c.Control.Socket != "" {
		c.validateSocket(p, journal, watches)
	}
	for _, secret := range c.secretFiles() {
		insideWatch(p, secret, watches, "the secret would be archived (and moved or deleted with the watch's files)")
	}
	for i := range c.Watches {
		if w := &c.Watches[i]; w.After == "move" && w.Path != "" && w.DoneDir != "" {
			c.validateDoneDir(p, i, journal, watches)
		}
	}
}

// insideWatch reports pl if it lies in one of the watch folders.
func insideWatch(p *problems, pl place, watches []place, why string) {
	for _, w := range watches {
		if pl.inside(w) {
			p.add(pl.key, "%s is inside %s %s; %s", pl.describe(), w.key, w.describe(), why)
		}
	}
}

// validateWatchPairs refuses two watches over the same files, also through symlinks.
func (c *Config) validateWatchPairs(p *problems, watches []place) {
	for i, b := range watches {
		for _, a := range watches[:i] {
			switch {
			case a.real == b.real:
				p.add(b.key, "%s is the same folder as %s %s; its files would be archived twice", b.describe(), a.key, a.describe())
			case b.inside(a):
				p.add(b.key, "%s is inside %s %s; its files would be archived twice", b.describe(), a.key, a.describe())
			case a.inside(b):
				p.add(a.key, "%s is inside %s %s; its files would be archived twice", a.describe(), b.key, b.describe())
			}
		}
	}
}

// validateSocket refuses a control socket that is the journal, lies in a watch folder, or is
// an existing file that is not a socket: the daemon replaces a stale socket at start.
func (c *Config) validateSocket(p *problems, journal place, watches []place) {
	sock := newPlace("control.socket", c.Control.Socket)
	if journal.path != "" && sock.real == journal.real {
		p.add(sock.key, "%s is the journal (journal: %s); the daemon would replace the journal with its socket", sock.describe(), journal.describe())
		return
	}
	if fi, err := os.Lstat(sock.real); err == nil && fi.Mode().Type() != fs.ModeSocket {
		p.add(sock.key, "%s exists and is not a socket; the daemon replaces only a socket left by an earlier run", sock.describe())
		return
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		p.wrap(sock.key, err)
	}
	insideWatch(p, sock, watches, "the watch would hold a socket record for it")
}

// secretFiles lists the configured files that hold secrets.
func (c *Config) secretFiles() []place {
	var out []place
	if c.GlobalRelay.CredentialsFile != "" {
		out = append(out, newPlace("globalrelay.credentials_file", c.GlobalRelay.CredentialsFile))
	}
	for _, name := range c.DestinationNames() {
		d := c.Destinations[name]
		for _, f := range []struct{ key, path string }{{"private_key_file", d.PrivateKeyFile},
			{"password_file", d.PasswordFile}, {"client_secret_file", d.ClientSecretFile}} {
			if f.path != "" {
				out = append(out, newPlace(mapKey("destinations", name)+"."+f.key, f.path))
			}
		}
	}
	return out
}

// validateDoneDir checks where after: move puts the files of watch i: not in the watch, not
// around it, not in another watch, not around the journal, and on the watch's file system
// (a move is a rename, which cannot cross file systems).
func (c *Config) validateDoneDir(p *problems, i int, journal place, watches []place) {
	w := &c.Watches[i]
	done := newPlace(fmt.Sprintf("watches[%d].done_dir", i), w.DoneDir)
	root := newPlace(fmt.Sprintf("watches[%d].path", i), w.Path)
	switch {
	case done.inside(root):
		p.add(done.key, "%s is inside the watch folder %s; moved files would be archived again", done.describe(), root.describe())
		return
	case root.inside(done):
		p.add(done.key, "%s holds the watch folder %s; moved files could land in the watch and be archived again", done.describe(), root.describe())
		return
	}
	for _, other := range watches {
		if other.key != root.key && done.inside(other) {
			p.add(done.key, "%s is inside %s %s; moved files would be archived again", done.describe(), other.key, other.describe())
		}
	}
	if journal.path != "" && journal.inside(done) {
		p.add(done.key, "%s holds the journal %s; pruning the moved files would delete it", done.describe(), journal.describe())
	}
	if why := sameMount(root.real, done.real); why != "" {
		p.add(done.key, "%s %s than the watch folder %s; files cannot be moved there (a move is a rename)", done.describe(), why, root.describe())
	}
}

// sameMount returns "" when the nearest existing folders of a and b are on one mount of
// one file system, else what differs ("is on another file system", "is on another mount").
// What cannot be examined is left to the move to report.
func sameMount(a, b string) string {
	sa, oka := statMount(a)
	sb, okb := statMount(b)
	switch {
	case !oka || !okb:
		return ""
	case sa.Dev_major != sb.Dev_major || sa.Dev_minor != sb.Dev_minor:
		return "is on another file system"
	case sa.Mask&sb.Mask&unix.STATX_MNT_ID != 0 && sa.Mnt_id != sb.Mnt_id:
		return "is on another mount"
	}
	return ""
}

// statMount examines the nearest existing folder of p.
func statMount(p string) (unix.Statx_t, bool) {
	for {
		var st unix.Statx_t
		err := unix.Statx(unix.AT_FDCWD, p, 0, unix.STATX_BASIC_STATS|unix.STATX_MNT_ID, &st)
		if err == nil {
			return st, true
		}
		parent := filepath.Dir(p)
		if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) || parent == p {
			return st, false
		}
		p = parent
	}
}
