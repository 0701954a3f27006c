package globalrelay

// The JSON of POST /conversations, as Global Relay documents it. Times are epoch milliseconds.

// Event types seen in Global Relay's documentation.
const (
	EventFileTransfer = "File_transfer"
	EventMessage      = "Message"
	EventInvitation   = "Invitation"
	EventUserJoined   = "User_joined"
	EventUserEvent    = "User_event"
)

// Participant user types.
const (
	UserInitiator = "initiator"
	UserRecipient = "recipient"
	UserAffected  = "affectedUser"
)

// Conversation is the body of one POST /conversations request.
type Conversation struct {
	Overview Overview `json:"conversationOverview"`
	Events   []Event  `json:"conversationEvents"`
}

// Overview describes the conversation the events belong to. ConversationType is the value
// Global Relay assigned at enrolment and is required in every request.
type Overview struct {
	ConversationType    string        `json:"conversationType"`
	InitiatorName       string        `json:"initiatorName,omitempty"`
	InitiatorEmail      string        `json:"initiatorEmail,omitempty"`
	CreatedBy           string        `json:"createdBy,omitempty"`
	CreatedAt           int64         `json:"createdAt,omitempty"` // epoch ms
	InitialParticipants []Participant `json:"initialParticipants,omitempty"`
}

// Event is one thing that happened in the conversation.
type Event struct {
	EventTime    int64         `json:"eventTime"` // epoch ms
	EventType    string        `json:"eventType"` // File_transfer, Message, Invitation, User_joined, User_event
	Participants []Participant `json:"participants"`
	SystemText   string        `json:"systemText,omitempty"`
	Content      *Content      `json:"content,omitempty"`
	Files        []FileRef     `json:"files,omitempty"`
}

// Participant is a person taking part in an event.
type Participant struct {
	DisplayName    string `json:"displayName"`
	CorporateEmail string `json:"corporateEmail,omitempty"`
	UserType       string `json:"userType,omitempty"` // initiator, recipient, affectedUser
}

// Content is the text of an event.
type Content struct {
	Message  string `json:"message"`
	TextType string `json:"textType,omitempty"`
}

// FileRef references a file already PUT under FileKey (every file must have returned 200
// first), or an external file at FileHref, in which case FileKey is any non-empty value.
type FileRef struct {
	Filename  string `json:"filename"`
	FileKey   string `json:"fileKey"`
	IsInlined bool   `json:"isInlined"`
	FileHref  string `json:"fileHref,omitempty"`
}
