package control

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
)

// OperatorGroup is the group whose members may use the control socket without root: every
// operator command (status, queue, show, retry, reconcile, report) and /metrics.
const OperatorGroup = "archivist"

// lookupGroup finds OperatorGroup; a variable so that tests can stand in for /etc/group.
var lookupGroup = user.LookupGroup

// setSocketAccess gives the socket at path to OperatorGroup with mode 0660 when that group
// exists and this process may hand the file to it (it runs as root or is a member, as under
// the unit); otherwise, or if the group cannot be looked up, the socket stays 0600 (its owner
// only). The group is set before the mode, so the socket is never open to another group.
// It returns the mode set.
func setSocketAccess(path string, lookup func(name string) (*user.Group, error)) (os.FileMode, error) {
	if gid, ok := operatorGID(lookup); ok {
		if err := os.Chown(path, -1, gid); err == nil {
			return 0o660, chmod(path, 0o660)
		} else if !errors.Is(err, os.ErrPermission) {
			return 0, fmt.Errorf("group %s: %w", OperatorGroup, err)
		}
	}
	return 0o600, chmod(path, 0o600)
}

func operatorGID(lookup func(name string) (*user.Group, error)) (int, bool) {
	g, err := lookup(OperatorGroup)
	if err != nil {
		return 0, false
	}
	gid, err := strconv.Atoi(g.Gid)
	return gid, err == nil
}

func chmod(path string, mode os.FileMode) error {
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("set mode %04o: %w", mode, err)
	}
	return nil
}
