// Package control is how archivist's commands talk to the daemon: a small JSON API over a
// unix socket (in the runtime directory; mode 0660 for the archivist operator group when it
// exists, else 0600) that the running daemon serves, and the same Service used directly on
// the journal when the daemon is not running.
//
// Service holds the operations (status, queue, show, retry, reconcile, report); Serve exposes
// a Service over HTTP on the socket; Client calls it. Both Service and Client implement API,
// which is all the commands use.
package control
