// Package salesforce is the client of Salesforce's Bring Your Own Channel Interaction API
// (v61.0+): it forwards one file as an AttachmentInteraction (multipart POST
// /api/v1/interactions, the file streamed, never buffered) and, when configured, tells
// Salesforce about a delivery that failed for good with a MessageDeliveryFailed entry.
//
// It owns the OAuth2 JWT bearer flow (an RS256 assertion signed with the connected app's
// key, stdlib only), the cached access token (refetched after 30 minutes, on a 401 and on
// error code 10004), the mapping of the API's error codes to failure classes, and the wire
// types (wire.go, following the vendor's OpenAPI file where it differs from the prose
// documentation).
//
// It does not retry, persist anything or derive a file's id: the pipeline gives every file
// version a stable forward.File.ID and this package derives the RequestId and the delivery
// failure's entry id from it, so a resend carries the same ids. The private key and the
// tokens never appear in an error or a log line.
package salesforce
