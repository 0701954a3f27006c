// Package journald writes logrus entries to the systemd journal with its native protocol
// (systemd.journal-fields(7), "Native Journal Protocol" in systemd's documentation): each
// entry is one datagram to /run/systemd/journal/socket holding MESSAGE, PRIORITY (the logrus
// level as a syslog priority, so `journalctl -p warning` works), SYSLOG_IDENTIFIER, and every
// logrus field as a journal field of its own (path → PATH), which `journalctl PATH=...`
// filters on. An entry too big for a datagram goes through a sealed memfd, as sd_journal_send
// does.
//
// IsStream tells whether the daemon's standard error is connected to the journal (systemd
// sets $JOURNAL_STREAM to that stream's device and inode), which is when the native protocol
// is worth using. If the socket cannot be reached, a line with the "<N>" syslog prefix goes
// to that standard error instead, which journald reads with the same priority.
//
// The package speaks the protocol by hand, like the sd_notify code in package systemd: a
// few dozen lines of framing do not justify a dependency. It does not decide what is logged
// or at which level; the commands do.
package journald
