// Package teams reads Microsoft Teams messages as Microsoft Graph returns them (chatMessage
// objects from GET /chats/{id}/messages, /teams/{id}/channels/{id}/messages and the export
// APIs), dumped by an admin's script or tool into a "*.teams.json" file, into format-neutral
// transcript events.
//
// It owns:
//   - recognising such a file by its name (Match) and its shape: a Graph list response
//     ({"@odata.context": ..., "value": [...]}, pages possibly concatenated or kept in an
//     array), a plain JSON array of chatMessages, JSON lines of them, or one chatMessage;
//     replies nested by $expand=replies are read as messages of their channel;
//   - reading it as a stream with encoding/json's token API: one message is in memory at a
//     time, each bounded by Options.MaxMessage, so a 1 GB dump is read in constant memory;
//   - the mapping of chatMessages to transcript.Event (see docs/transcript-format.md): the
//     HTML body to readable text (mentions, attachments, emoji, entities, block elements),
//     file references, cards, system events, edits, deletions, replies and reactions, and the
//     identity used for exactly-once delivery (Event.Key);
//   - naming people in the texts it writes: the export's displayName, else the identity
//     directory's name (Options.Directory, source "teams"), else the Entra object id.
//
// It does not own: opening the file (the caller opens it safely and passes an io.Reader),
// resolving participants' emails (package identity, source "teams", id Participant.ID),
// fetching files from SharePoint (a file is a link), or the exactly-once ledger.
package teams
