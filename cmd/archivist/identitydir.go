package main

import (
	"fmt"
	"sync/atomic"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/identity"
	"github.com/archivist-project/archivist/config"
	"github.com/archivist-project/archivist/journal"
)

// loadIdentities reads the identity directory cfg names; nil (an empty directory) when it
// names none. The error names the key, the file and the line.
func loadIdentities(cfg *config.Config) (*identity.Directory, error) {
	if cfg.Identities == "" {
		return nil, nil
	}
	d, err := identity.Load(cfg.Identities)
	if err != nil {
		return nil, fmt.Errorf("identities: %w", err)
	}
	return d, nil
}

// identities holds the daemon's current identity directory: the readers resolve participants
// with Current, and every directory Set stores drops from the journal's unresolved ledger the
// people it now resolves, so that status, metrics and the page count only those still missing.
type identities struct {
	cur atomic.Pointer[identity.Directory]
	j   *journal.DB
	log *logrus.Logger
}

// Current is the directory in force (nil when none is configured).
func (h *identities) Current() *identity.Directory { return h.cur.Load() }

// Set puts d in force and prunes the ledger of the participants d resolves. A failed prune is
// logged: they are counted until the next load.
func (h *identities) Set(d *identity.Directory) {
	h.cur.Store(d)
	if d.Len() == 0 {
		return
	}
	n, err := h.j.PruneResolved(func(source, id string) bool {
		_, ok := d.Lookup(source, id)
		return ok
	})
	if err != nil {
		h.log.WithError(err).Error("identities: unresolved participants not updated")
		return
	}
	if n > 0 {
		h.log.WithField("resolved", n).Info("identities: the directory now resolves participants that were unresolved")
	}
}
