// Package whatsapp reads WhatsApp's own "Export chat" files into format-neutral transcript
// events: the iOS ZIP (_chat.txt and the media), and the Android "WhatsApp Chat with NAME.txt",
// alone in a folder or in a ZIP with the media.
//
// It owns:
//   - recognising an export (ChatEntry for the text inside a ZIP, MatchText for a loose text)
//     and reading it as a stream, line by line with a bounded line length: a chat text is
//     read twice (once to learn its date order, its people and its problems, once to hand
//     out its events) and never held in memory;
//   - the line grammars of iOS ("[date, time] author: text") and Android ("date, time -
//     author: text"), system lines, continuation lines, the dates and times of the English,
//     German, French and Spanish forms, and the day/month order (inferred, else Options);
//   - the safety of what it reads from a ZIP: absolute or climbing names, symlinks,
//     duplicates and decompression bombs are refused with an *Error and never opened;
//   - the mapping to transcript.Event (see docs/transcript-format.md) and the identity of a
//     message for exactly-once delivery (Event.Key), which a later, larger re-export of the
//     same chat reproduces for the same messages.
//
// It does not own: opening the ZIP or the folder (the caller passes an io.ReaderAt or an
// fs.FS it opened safely), the time zone (Options.Location, from the watch's "timezone:"),
// resolving emails (package identity, source "whatsapp", id Participant.ID), uploading
// media (OpenEntry gives the bytes of a ZIP entry; a loose file is a FileRef.Path), or the
// exactly-once ledger.
package whatsapp
