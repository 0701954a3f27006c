// Package sandbox is archivist's own strict emulator of the remote APIs it talks to, served
// over real HTTP. The quickstart and the end-to-end tests archive into it instead of a real
// tenant.
//
// It validates the way the vendors document their APIs, and stricter where they are silent,
// so that a client bug shows up here first: every rejection is a 4xx with a JSON body
// {"error": code, "message": reason} whose reason names the offending field. What it accepts
// it stores on disk under Options.Dir and reloads after a restart. Faults (5xx, 429, resets,
// slow answers, outages) can be injected at random to exercise the pipeline's retries.
//
// Each API has its own file with its own wire structs: globalrelay.go (token, /v2/files,
// /v2/conversations), salesforce.go (JWT token, /api/v1/interactions, multipart layout and
// error codes), genesys.go (/api/v2/me/interactions/{id}/attachments, UploadFile) and
// talkdesk.go (token, upload link, presigned PUT, /attachments/2023-03 with 409 on a name
// taken); the sandbox never imports the clients it checks, so that it reads the
// wire format independently. server.go routes, store.go owns the files on disk, faults.go
// the injected faults, and admin.go the /sandbox/ routes that list what was stored.
//
// It is not a security boundary: it accepts any client that presents the configured
// credential and should listen on loopback. It never logs or stores credentials or tokens.
package sandbox
