// Package globalrelay is the client of Global Relay's Conversation Archiving API: it owns the
// OAuth2 client-credentials token (cached, renewed before it expires and once more on a 401),
// the streaming PUT of one file to /files, the POST of one request to /conversations, and the
// wire types of that API (wire.go is the one place that speaks its JSON).
//
// It does not retry, pace, batch or decide whether a failure is permanent: every non-2xx
// answer is a *failure.HTTPError and the pipeline classifies it with package failure. It does
// not build fileKeys either; it only refuses keys that cannot name a file at all. A failure to
// obtain a token is a *TokenError, so the caller can tell "this destination cannot
// authenticate" from "this request was refused".
//
// The credential string is a secret: it is sent only to the token URL and never appears in an
// error or a log line. Neither do the bearer tokens.
package globalrelay
