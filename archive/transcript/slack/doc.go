// Package slack reads a Slack workspace export ZIP (Slack's own export, or the same layout
// written by exporters that also fetch the files, such as slackdump) into format-neutral
// transcript events, one conversation day at a time.
//
// It owns:
//   - recognising an export (users.json and channels.json at the root of the ZIP or of its
//     single top-level folder) and reading it in place through archive/zip: nothing is
//     extracted, the lists are decoded as streams, and at most one day file is in memory;
//   - the safety of what it reads: entries whose names are absolute or climb out, symlink
//     entries, duplicate names and decompression bombs (declared or actual size above the
//     limits) are refused with an *Error naming the ZIP and the entry, and never opened;
//   - the mapping of Slack messages to transcript.Event (see docs/transcript-format.md),
//     including the message identity used for exactly-once delivery (Event.Key) and the
//     rendering of Slack markup to plain text;
//   - keeping the export's access token out of everything it returns: the URLs that carry
//     it (url_private, thumbnails, ...) are never decoded, and any "xox?-" token left in a
//     string it returns, or in an error, is replaced by "[Slack token removed]".
//
// It does not own: opening the ZIP file (the caller opens it safely and passes an
// io.ReaderAt), resolving participants' emails (package identity, with Participant.ID as
// the "slack" id and Participant.Email from the export), uploading files (OpenEntry gives
// their bytes), or the exactly-once ledger.
package slack
