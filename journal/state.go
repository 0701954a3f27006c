package journal

import (
	"errors"
	"fmt"
)

// The state machine of a file version. This table is the one place that says which moves
// are legal; Record.Move makes them, and every update the journal commits is checked
// against it, so a state set by hand that the table does not allow is refused with
// ErrIllegalMove instead of being written.
//
//	from        to
//	discovered  uploaded (PUT confirmed), posted (same bytes, same path: nothing to send),
//	            held, vanished (deleted before upload), superseded (changed before upload)
//	uploaded    posted (event accepted), held (event or transcript refused)
//	held        discovered, uploaded (released where it was held), superseded (newer version),
//	            dismissed (an operator gave up on it: archivist dismiss)
//	posted      (final for the archive; disposal and forwards do not change the state)
//	vanished    (final)
//	superseded  (final)
//	dismissed   (final)
var moves = map[State][]State{
	Discovered: {Uploaded, Posted, Held, Vanished, Superseded},
	Uploaded:   {Posted, Held},
	Held:       {Discovered, Uploaded, Superseded, Dismissed},
	Posted:     nil,
	Vanished:   nil,
	Superseded: nil,
	Dismissed:  nil,
}

// Final reports whether no move leaves state s (posted, vanished, superseded, dismissed).
func (s State) Final() bool {
	moves, known := moves[s]
	return known && len(moves) == 0
}

// ErrIllegalMove means a change of state the table does not allow.
var ErrIllegalMove = errors.New("illegal state change")

// CanMove reports whether a record may go from state from to state to. Staying in the same
// state is no move and always allowed.
func CanMove(from, to State) bool {
	if from == to {
		return true
	}
	for _, s := range moves[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Move puts r in state to, or returns ErrIllegalMove (r unchanged) if the table does not
// allow it.
func (r *Record) Move(to State) error {
	if !CanMove(r.State, to) {
		return illegalMove(r, r.State, to)
	}
	r.State = to
	return nil
}

func illegalMove(r *Record, from, to State) error {
	return fmt.Errorf("%s: %w from %s to %s", r, ErrIllegalMove, from, to)
}

// checkMove refuses an update that changed the state of old to one the table does not allow.
func checkMove(old, r *Record) error {
	if CanMove(old.State, r.State) {
		return nil
	}
	return illegalMove(r, old.State, r.State)
}
