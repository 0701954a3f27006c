// Package talkdesk is the client of Talkdesk's Attachments API (2023-03): it forwards one
// file in three calls: ask for an upload link (POST /attachments/2023-03/upload-link), PUT
// the bytes to that presigned link (streamed, exact Content-Length, no Authorization
// header), then create the attachment from the upload (POST /attachments/2023-03).
//
// It owns the OAuth2 client-credentials token (ten-minute tokens, cached and renewed a
// minute early and on a 401), the attachment name (derived from the file's stable id, so
// a retry creates the same name and a 409 for that name means an earlier attempt already
// succeeded), and the wire types.
//
// It does not retry or persist anything; every error is classified by package failure.
// The client secret, the tokens and the presigned link's query never appear in an error or
// a log line.
package talkdesk
