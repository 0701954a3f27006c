package control

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/archivist-project/archivist/journal"
)

// DismissRequest names the held record an operator gives up on, and why.
type DismissRequest struct {
	ID     uint64 `json:"id"`
	Reason string `json:"reason"`
	By     string `json:"by,omitempty"` // who asked (the operator's user name), for the audit trail
}

// DismissResult says whether the record was dismissed.
type DismissResult struct {
	Dismissed bool `json:"dismissed"`
	// NotDismissed says why nothing was done: only a held record can be dismissed.
	NotDismissed string `json:"notDismissed,omitempty"`
}

// Dismiss ends held record req.ID as dismissed (journal.Dismissed, a final state): an operator
// gave up on archiving that file version, for req.Reason, which the audit trail keeps in its
// chain. The version is not recorded again; a new version of the file is archived as usual.
// Only a held record can be dismissed; for one in any other state NotDismissed says why not.
func (s *Service) Dismiss(ctx context.Context, req DismissRequest) (*DismissResult, error) {
	reason := strings.TrimSpace(req.Reason)
	switch {
	case req.ID == 0:
		return nil, errors.New("name the record to dismiss")
	case reason == "":
		return nil, errors.New("a dismissal needs a reason")
	}
	detail := "operator: archivist dismiss: " + reason
	if req.By != "" {
		detail = "operator " + req.By + ": archivist dismiss: " + reason
	}
	now := time.Now()
	var was journal.State
	err := s.J.Update(req.ID, func(r *journal.Record) ([]journal.Entry, error) {
		was = r.State
		if r.State != journal.Held {
			return nil, journal.ErrSkip
		}
		if err := r.Move(journal.Dismissed); err != nil {
			return nil, err
		}
		r.Reason, r.HeldLane = "dismissed: "+reason, ""
		return []journal.Entry{{Time: now, Step: "dismissed", Result: "ok", Detail: detail}}, nil
	})
	if err != nil {
		return nil, err
	}
	if was != journal.Held {
		return &DismissResult{NotDismissed: whyNotDismissed(req.ID, was)}, nil
	}
	return &DismissResult{Dismissed: true}, nil
}

// whyNotDismissed says why record id, in state st, cannot be dismissed.
func whyNotDismissed(id uint64, st journal.State) string {
	switch st {
	case journal.Posted:
		return fmt.Sprintf("#%d is archived (posted): there is nothing to dismiss", id)
	case journal.Discovered, journal.Uploaded:
		return fmt.Sprintf("#%d is %s, still on its way to the archive: only a held file can be dismissed ('archivist show %d' says where it stands)", id, st, id)
	}
	return fmt.Sprintf("#%d is %s, which is final: only a held file can be dismissed", id, st)
}

func (c *Client) Dismiss(ctx context.Context, r DismissRequest) (*DismissResult, error) {
	var res DismissResult
	return &res, c.do(ctx, "POST", "/dismiss", r, &res)
}
