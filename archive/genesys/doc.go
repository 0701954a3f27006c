// Package genesys is the client of the Genesys Web Services (GWS) API v2 chat operations
// that share a file in a chat: it uploads the bytes to the contact server (multipart POST
// /api/v2/me/interactions/{chatId}/attachments, streamed, never buffered), then posts the
// UploadFile operation that links the returned documentId to the chat (POST
// /api/v2/me/chats/{chatId}).
//
// It owns Basic authentication, the reading of GWS's {"statusCode": n} replies (0 is
// success, 20 is an authentication failure, anything else a permanent refusal, even under
// HTTP 200), and a bounded in-memory memo of documents uploaded but not yet linked, so that
// a retry after a failed UploadFile does not upload the bytes again. GWS has no idempotency
// key: after a crash between the two calls, the bytes are uploaded a second time.
//
// It does not retry or persist anything; every error is classified by package failure.
// The password never appears in an error or a log line.
package genesys
