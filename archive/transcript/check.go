package transcript

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/archivist-project/archivist/watcher/beneath"
)

// CheckFiles looks at every on-disk attachment of c (relPath is the transcript, for the
// errors) with beneath.Lstat, without opening or following anything, and reports each one
// that is missing, a symlink (in any component), not a regular file, larger than maxSize, or
// not the size the transcript states. It lets the pipeline hold a transcript before uploading
// any of its files; it is not the last word, since a file can change after the look: the
// upload opens each file with beneath.Open, which refuses symlinks and non-regular files
// again. The result joins one *Error per problem (wrapping ErrAttachment or ErrTooLarge),
// or is nil.
func CheckFiles(root, relPath string, c *Conversation, maxSize int64) error {
	r, err := beneath.OpenRoot(root)
	if err != nil {
		return err // the watch root itself: not a problem of this transcript
	}
	defer r.Close()
	var errs []error
	for _, e := range c.Events {
		for _, f := range e.Files {
			if f.Path == "" {
				continue
			}
			if err := checkFile(r, relPath, f, maxSize); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func checkFile(r *beneath.Root, relPath string, f FileRef, maxSize int64) error {
	fail := func(sentinel error, format string, args ...any) error {
		return &Error{File: relPath, JSONPath: f.JSONPath, Err: sentinel,
			Reason: quote(f.Path) + ": " + fmt.Sprintf(format, args...)}
	}
	fi, err := r.Lstat(f.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail(ErrAttachment, "does not exist")
	case errors.Is(err, beneath.ErrSymlink) || err == nil && fi.Mode()&fs.ModeSymlink != 0:
		return fail(ErrAttachment, "is reached through a symbolic link, which is never followed")
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fail(ErrAttachment, "%v", err)
	case !fi.Mode().IsRegular():
		return fail(ErrAttachment, "is a %s, not a regular file", beneath.Kind(fi))
	case fi.Size() > maxSize:
		return fail(ErrTooLarge, "%d bytes is over the %d byte limit", fi.Size(), maxSize)
	case f.Size >= 0 && fi.Size() != f.Size:
		return fail(ErrAttachment, "has %d bytes but the transcript states %d", fi.Size(), f.Size)
	}
	return nil
}
