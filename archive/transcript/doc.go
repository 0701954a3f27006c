// Package transcript reads chat transcripts into the format-neutral Conversation the
// pipeline archives in "mode: transcripts" watches.
//
// It owns:
//   - the transcript formats, one file each behind the Format interface: Native
//     (*.transcript.json, archivist's own, strict and versioned) and Genesys
//     (*.genesys.json, a Genesys chat message log); Detect picks one by file name;
//   - validation, with every problem reported as an *Error naming the file, the JSON path
//     and the reason, so a bad transcript is held with a message a person can act on;
//   - containment of attachment paths (invariant 5): every FileRef.Path is clean, relative to
//     the watch root and inside it; a path that is absolute or climbs out is an error, never
//     clamped. Read opens the transcript itself only through package beneath.
//
// It does not own:
//   - opening attachments: the upload does that with beneath.Open, which refuses symlinks,
//     FIFOs and devices; CheckFiles only looks (Lstat) so a transcript can be held before any
//     of its files is uploaded;
//   - fileKeys and the Global Relay wire format: the pipeline maps a Conversation to
//     globalrelay.Conversation (see docs/transcript-format.md for the intended mapping);
//   - participants' emails for Genesys transcripts, which do not state them.
//
// The formats are documented, with a JSON Schema for the native one, in
// docs/transcript-format.md.
package transcript
