package journal

import (
	"errors"
	"fmt"
	"testing"
)

// legal is the state table written out by hand, move by move: a change to the table in
// state.go must be made here too.
var legal = map[[2]State]bool{
	{Discovered, Uploaded}: true, {Discovered, Posted}: true, {Discovered, Held}: true,
	{Discovered, Vanished}: true, {Discovered, Superseded}: true,
	{Uploaded, Posted}: true, {Uploaded, Held}: true,
	{Held, Discovered}: true, {Held, Uploaded}: true, {Held, Superseded}: true, {Held, Dismissed}: true,
}

func TestStateTableEveryStateHasARow(t *testing.T) {
	for _, s := range States {
		if _, ok := moves[s]; !ok {
			t.Errorf("state %s has no row in the state table", s)
		}
	}
	if len(moves) != len(States) {
		t.Errorf("the table has %d rows for %d states", len(moves), len(States))
	}
}

// Every move of the table is made by Record.Move and committed; every other one is refused
// by both, and the record keeps its state.
func TestStateTableAcceptsLegalMovesRefusesTheRest(t *testing.T) {
	db := openTest(t)
	for _, from := range States {
		for _, to := range States {
			want := from == to || legal[[2]State{from, to}]
			if got := CanMove(from, to); got != want {
				t.Errorf("CanMove(%s, %s) = %v, want %v", from, to, got, want)
			}
			r := &Record{State: from}
			err := r.Move(to)
			if want != (err == nil) || (err != nil && (!errors.Is(err, ErrIllegalMove) || r.State != from)) {
				t.Errorf("Move %s -> %s: %v, state now %s", from, to, err, r.State)
			}

			// A state set by hand is checked too, when the journal commits it.
			rec := newRec(fmt.Sprintf("%s-%s.txt", from, to), 1)
			rec.State = from
			id := insert(t, db, rec)[0].ID
			err = db.Update(id, func(r *Record) ([]Entry, error) {
				r.State = to
				return nil, nil
			})
			stored, gerr := db.Get(id)
			if gerr != nil {
				t.Fatal(gerr)
			}
			switch {
			case want && (err != nil || stored.State != to):
				t.Errorf("commit %s -> %s refused: %v (stored %s)", from, to, err, stored.State)
			case !want && (!errors.Is(err, ErrIllegalMove) || stored.State != from):
				t.Errorf("commit %s -> %s: err %v, stored %s; want ErrIllegalMove and %s kept", from, to, err, stored.State, from)
			}
		}
	}
}

func TestFinalStatesAreThoseNoMoveLeaves(t *testing.T) {
	for _, s := range []State{Posted, Vanished, Superseded, Dismissed} {
		if !s.Final() {
			t.Errorf("%s is not final", s)
		}
		if !isFinished(&Record{State: s}) {
			t.Errorf("a %s record with no lane due is not finished: compaction would keep its detail", s)
		}
	}
	for _, s := range []State{Discovered, Uploaded, Held, State("unknown")} {
		if s.Final() {
			t.Errorf("%s is final", s)
		}
	}
}
