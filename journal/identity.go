package journal

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// A journal records its own identity (a random id in its meta bucket), and the state folder
// keeps a marker file next to it naming that id. A journal missing or empty where the marker
// says one existed is refused: starting afresh would archive and post every file again.

var keyID = []byte("id")

// MarkerPath is the marker file of the journal at path.
func MarkerPath(path string) string { return path + ".id" }

// readMarker returns the id the marker names ("" when there is no marker).
func readMarker(path string) (string, error) {
	b, err := os.ReadFile(MarkerPath(path))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("journal marker: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// writeMarker replaces the marker atomically: a temporary file, synced, renamed over it.
func writeMarker(path, id string) error {
	marker := MarkerPath(path)
	tmp, err := os.CreateTemp(filepath.Dir(marker), filepath.Base(marker)+".tmp*")
	if err != nil {
		return fmt.Errorf("journal marker: %w", err)
	}
	_, err = tmp.WriteString(id + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), marker)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("journal marker: %w", err)
	}
	return syncDir(filepath.Dir(marker))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// ID is the journal's identity ("" for a journal opened read-only that never had one).
func (db *DB) ID() (string, error) {
	var id string
	err := db.bolt.View(func(tx *bolt.Tx) error {
		id = string(tx.Bucket(bucketMeta).Get(keyID))
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("journal: read its identity: %w", err)
	}
	return id, nil
}

// refuseMissing is the check before opening: a journal that is missing or empty although
// the marker names one is refused unless the operator asked for a new journal.
func refuseMissing(path string, o Options) error {
	fi, err := os.Stat(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	gone := err != nil || fi.Size() == 0
	if !gone {
		return nil
	}
	marker, err := readMarker(path)
	if err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	what := "is missing"
	if fi != nil {
		what = "is empty (0 bytes)"
	}
	switch {
	case marker != "" && !o.NewJournal:
		return fmt.Errorf("journal %s: %w: it %s, but %s says journal %s was here; starting afresh would archive and post every file again. "+
			"Restore the journal, or run 'archivist journal rebuild', or start with --new-journal to begin a new one",
			path, ErrDamaged, what, MarkerPath(path), marker)
	case o.ReadOnly:
		return fmt.Errorf("journal %s %s", path, what)
	}
	return nil
}

// claimIdentity gives the journal an id if it has none and checks it against the marker: a
// different journal put in place of the one the marker names is refused unless the operator
// asked for a new journal. It runs in the open's write transaction; the marker is written
// after the commit (see Open).
func claimIdentity(tx *bolt.Tx, path string, o Options) (string, error) {
	meta := tx.Bucket(bucketMeta)
	id := string(meta.Get(keyID))
	marker, err := readMarker(path)
	if err != nil {
		return "", err
	}
	if marker != "" && id != marker && !o.NewJournal {
		have := "has no identity"
		if id != "" {
			have = "is journal " + id
		}
		return "", fmt.Errorf("%w: the file %s, but %s names journal %s: it is not the journal this state folder kept. "+
			"Restore that journal, or start with --new-journal to adopt this one", ErrDamaged, have, MarkerPath(path), marker)
	}
	if id == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		id = hex.EncodeToString(b)
		if err := meta.Put(keyID, []byte(id)); err != nil {
			return "", err
		}
	}
	return id, nil
}
