package control

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/archivist-project/archivist/journal"
)

// Compacter removes old audit detail from the journal (archivist journal compact), served
// by the daemon (Client) while it runs, or done on the journal directly (Service).
type Compacter interface {
	CompactJournal(ctx context.Context, r CompactRequest) (*CompactResult, error)
}

var (
	_ Compacter = (*Service)(nil)
	_ Compacter = (*Client)(nil)
)

// CompactRequest asks to remove the audit detail written before Before.
type CompactRequest struct {
	Before time.Time `json:"before"`
}

// CompactResult is what a compaction did and what the journal file holds after it.
type CompactResult struct {
	Walked       uint64 `json:"walked"`       // entries checked and sealed
	Removed      uint64 `json:"removed"`      // detail entries removed
	FreedBytes   uint64 `json:"freedBytes"`   // their bytes
	Transactions int    `json:"transactions"` // transactions it took
	FileBytes    int64  `json:"fileBytes"`    // the journal file's size
	FreeBytes    int64  `json:"freeBytes"`    // of it, pages free for reuse
}

// CompactJournal removes the audit detail written before r.Before, in bounded transactions:
// the daemon keeps archiving between them. The pages freed are reused for new writes; the
// file shrinks when rewritten offline (archivist journal compact with the daemon stopped).
func (s *Service) CompactJournal(ctx context.Context, r CompactRequest) (*CompactResult, error) {
	if r.Before.IsZero() {
		return nil, errors.New("compact: no cut-off: set audit_retention_days")
	}
	st, err := s.J.CompactAudit(ctx, r.Before, journal.CompactOptions{})
	res := &CompactResult{Walked: st.Walked, Removed: st.Removed, FreedBytes: st.FreedBytes, Transactions: st.Transactions, FreeBytes: s.J.FreeBytes()}
	if err != nil {
		return res, err
	}
	fi, err := os.Stat(s.J.Path())
	if err != nil {
		return res, fmt.Errorf("compact: %w", err)
	}
	res.FileBytes = fi.Size()
	return res, nil
}

// CompactJournal waits for the result, which the daemon sends after heartbeats while it works;
// an error then comes in the body.
func (c *Client) CompactJournal(ctx context.Context, r CompactRequest) (*CompactResult, error) {
	var res struct {
		CompactResult
		Error string `json:"error"`
	}
	if err := c.do(ctx, "POST", "/journal/compact", r, &res); err != nil {
		return nil, err
	}
	if res.Error != "" {
		return nil, errors.New(res.Error)
	}
	return &res.CompactResult, nil
}
