package main

// exConfig is sysexits.h's EX_CONFIG: the configuration is missing or wrong. The systemd unit
// lists it in RestartPreventExitStatus=, since restarting cannot cure a bad file; an operator
// must edit it first.
const exConfig = 78

// configError marks errors of the configuration (it does not load, or a value in it is
// refused): exit code exConfig.
type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

// Exit statuses for scripts and monitoring, beyond 0 (success), 1 (error), 2 (usage), 5
// (journal damaged) and 78 (configuration): documented in the README.
const (
	// exitNotRunning: `status` found no daemon (the figures were read from the journal), as
	// LSB init scripts' status says 3 for "not running".
	exitNotRunning = 3
)

// exitError ends a command with a status of its own after printing its message.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }
