package salesforce

import (
	"encoding/json"
	"strings"
)

// The JSON of POST /api/v1/interactions, as Salesforce's OpenAPI file
// (inbound-interaction-api.yaml) defines it. Where the prose pages differ, the file wins:
// a MessageDeliveryFailed payload is an object (not an array) and its errorCode a string
// (not an object); "from" may be up to 255 characters (the prose says 240).

// Interaction types.
const (
	typeAttachment = "AttachmentInteraction"
	typeEntry      = "EntryInteraction"
)

// interactionRequest is the "json" part: exactly one interaction between to and from.
type interactionRequest struct {
	To           string `json:"to"`
	From         string `json:"from"`
	Interactions []any  `json:"interactions"`
}

// attachmentInteraction carries the file of the "attachments" part.
type attachmentInteraction struct {
	InteractionType string `json:"interactionType"` // AttachmentInteraction
	Timestamp       int64  `json:"timestamp"`       // epoch ms
	ID              string `json:"id"`              // UUID
	AttachmentIndex int    `json:"attachmentIndex"` // always 0: one file per request
	ContentLength   int64  `json:"contentLength"`   // exact bytes
	Text            string `json:"text,omitempty"`
}

// entryInteraction carries a conversation entry; only MessageDeliveryFailed is sent.
type entryInteraction struct {
	InteractionType string                `json:"interactionType"` // EntryInteraction
	Timestamp       int64                 `json:"timestamp"`       // epoch ms
	Payload         messageDeliveryFailed `json:"payload"`
}

type messageDeliveryFailed struct {
	ID                                string      `json:"id"`
	EntryType                         string      `json:"entryType"` // MessageDeliveryFailed
	FailedConversationEntryIdentifier string      `json:"failedConversationEntryIdentifier"`
	Recipient                         participant `json:"recipient"`
	ErrorCode                         string      `json:"errorCode"`
	ErrorMessage                      string      `json:"errorMessage,omitempty"`
}

type participant struct {
	AppType string `json:"appType"` // custom
	Subject string `json:"subject"` // the end user client identifier
	Role    string `json:"role"`    // EndUser
}

// interactionReply is the 202 answer.
type interactionReply struct {
	ConversationIdentifier string   `json:"conversationIdentifier"`
	ID                     string   `json:"id"`
	WorkItemIDs            []string `json:"workItemIds"`
	// Success is false (or "false": the prose documentation quotes it) when the
	// interaction failed although the request was accepted.
	Success json.RawMessage `json:"success"`
}

func (r *interactionReply) failed() bool {
	return strings.Trim(strings.TrimSpace(string(r.Success)), `"`) == "false"
}

// apiError is the body of every non-2xx answer: {"code": 10008, "message": "..."}. The
// OpenAPI file types code as an int; it is read as a number or a string.
type apiError struct {
	Code    any    `json:"code"`
	Message string `json:"message"`
}
