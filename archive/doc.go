// Package archive is the pipeline that takes settled files from the watcher to the archive.
//
// Intake records each settled file in the journal (or holds it at once with a reason: a
// symlink, a FIFO, a file over the size limit). The upload lane (package upload) takes due
// "put" work from the journal and commits "uploaded". The poster takes
// due "post" work, groups it into conversations and commits "posted" once Global Relay accepted
// the events; forwarding (package forwarding) and disposal (package disposal) follow. Each step
// is committed before the next starts, so a restart resumes where the last commit left off.
//
// Every remote failure is classified by package failure; a destination that fails transiently
// is paused and probed with one request at a time until it answers (package gate).
//
// Loose-file promotion and disposal (after: move/delete) run in a loop of their own that
// needs only the disk and the journal, so an archive outage does not stop them.
// docs/architecture.md draws the packages and the flow.
//
// Not here: finding files (watcher), storing state (journal), the wire format (globalrelay),
// the requests' content (events), reconciliation (reconcile).
package archive
