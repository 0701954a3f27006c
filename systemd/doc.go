// Package systemd is the daemon's side of running under systemd: the sd_notify protocol
// (READY, STATUS, RELOADING, STOPPING and watchdog pings over $NOTIFY_SOCKET) and the lookup
// of secrets that the unit hands over with LoadCredential= ($CREDENTIALS_DIRECTORY).
//
// Everything here degrades to a no-op when the daemon is not started by systemd, so callers
// never need to ask whether they are. The package speaks the protocol by hand (one unixgram
// datagram per message) rather than through a library: it is a few lines, and it keeps
// go.mod free of a dependency for them.
//
// The folder also holds the files that are not Go: the unit (archivist.service), the
// sysusers.d entry, the example configuration, a README of what the unit expects, and the
// Debian package's nfpm.yaml and maintainer scripts in deb/. The tests check the unit with
// systemd-analyze, the layout of `make install`, and the .deb installed with dpkg --root.
//
// It does not own what the daemon reports or when: the run command decides when it is ready,
// what its status line says and what "healthy" means for the watchdog.
package systemd
