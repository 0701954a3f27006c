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
