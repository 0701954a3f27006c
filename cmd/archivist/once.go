package main

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/journal"
)

// Exit statuses of `run --once` (README "Exit codes"): 0 every file archived, 1 an error,
// 2 wrong usage, exitHeld when it ended with files held, exitTimedOut when --timeout passed
// before the work was done.
const (
	exitHeld     = 3
	exitTimedOut = 4
)

// onceRun is `run --once`: when to give up, and how the run ended.
type onceRun struct {
	timeout time.Duration // 0: no limit

	mu      sync.Mutex
	ended   bool  // nothing was left to do, or the timeout passed
	expired bool  // the timeout passed first
	held    int64 // files held when it ended (journal's Held)
	heldErr error // the count could not be read
}

// newOnceRun is the --once of run's flags, nil without it; --timeout needs --once.
func newOnceRun(once, timeoutSet bool, timeout time.Duration) (*onceRun, error) {
	switch {
	case timeoutSet && !once:
		return nil, usageError{errors.New("--timeout needs --once: the daemon runs until it is stopped")}
	case timeout < 0:
		return nil, usageError{fmt.Errorf("--timeout %s: want a duration of 0 (no limit) or more", timeout)}
	case !once:
		return nil, nil
	}
	return &onceRun{timeout: timeout}, nil
}

// deadline yields when the timeout passes; never without one.
func (o *onceRun) deadline() <-chan time.Time {
	if o.timeout <= 0 {
		return nil
	}
	return time.After(o.timeout)
}

func (o *onceRun) finished(j *journal.DB, log *logrus.Logger, archived, heldNow int64) {
	held, err := j.Held()
	o.mu.Lock()
	o.ended, o.held, o.heldErr = true, held, err
	o.mu.Unlock()
	log.WithFields(logrus.Fields{"archived": archived, "held": heldNow, "held_total": held}).Info("nothing left to do (--once)")
}

func (o *onceRun) timedOut(j *journal.DB, log *logrus.Logger) {
	held, err := j.Held()
	o.mu.Lock()
	o.ended, o.expired, o.held, o.heldErr = true, true, held, err
	o.mu.Unlock()
	log.WithField("timeout", o.timeout.String()).Warn("--once: the timeout passed before the work was done; what is left stays due for the next run")
}

// exit is how the run ended as an error for exitCode: nil when there was no --once, when every
// file was archived, or when a signal stopped it before it ended.
func (o *onceRun) exit() error {
	if o == nil {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case !o.ended:
		return nil
	case o.expired:
		return exitError{code: exitTimedOut, err: fmt.Errorf("timed out after %s with work left (%d files held)", o.timeout, o.held)}
	case o.heldErr != nil:
		return fmt.Errorf("count the held files: %w", o.heldErr)
	case o.held > 0:
		return exitError{code: exitHeld, err: fmt.Errorf("%d files held: 'archivist queue --state held' says why", o.held)}
	}
	return nil
}
