package teams

import "encoding/json"

// chatMessage is what is kept of a Microsoft Graph chatMessage. Members whose shape varies
// between API versions and exporters are decoded by hand (mention ids, attachment content,
// reaction users, eventDetail).
type chatMessage struct {
	ID                   string           `json:"id"`
	ReplyToID            string           `json:"replyToId"`
	MessageType          string           `json:"messageType"`
	CreatedDateTime      string           `json:"createdDateTime"`
	LastModifiedDateTime string           `json:"lastModifiedDateTime"`
	LastEditedDateTime   string           `json:"lastEditedDateTime"`
	DeletedDateTime      string           `json:"deletedDateTime"`
	Subject              string           `json:"subject"`
	ChatID               string           `json:"chatId"`
	Importance           string           `json:"importance"`
	ChannelIdentity      *channelIdentity `json:"channelIdentity"`
	PolicyViolation      *policyViolation `json:"policyViolation"`
	From                 *identitySet     `json:"from"`
	OnBehalfOf           *identitySet     `json:"onBehalfOf"`
	Body                 *itemBody        `json:"body"`
	Attachments          []attachment     `json:"attachments"`
	Mentions             []mention        `json:"mentions"`
	Reactions            []reaction       `json:"reactions"`
	EventDetail          json.RawMessage  `json:"eventDetail"`
	// Replies are a channel post's replies when the dump used $expand=replies.
	Replies []json.RawMessage `json:"replies"`
}

type channelIdentity struct {
	TeamID    string `json:"teamId"`
	ChannelID string `json:"channelId"`
}

type policyViolation struct {
	DLPAction         string `json:"dlpAction"`
	JustificationText string `json:"justificationText"`
}

type itemBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

// graphID is a user, application, conversation (team or channel) or tag.
type graphID struct {
	ID                       string `json:"id"`
	DisplayName              string `json:"displayName"`
	UserIdentityType         string `json:"userIdentityType"`
	ApplicationIdentityType  string `json:"applicationIdentityType"`
	ConversationIdentityType string `json:"conversationIdentityType"`
}

type identitySet struct {
	User         *graphID `json:"user"`
	Application  *graphID `json:"application"`
	Device       *graphID `json:"device"`
	Conversation *graphID `json:"conversation"`
	Tag          *graphID `json:"tag"`
}

// who is the set's identity: its user, else its application, else the rest; nil if none.
func (s *identitySet) who() *graphID {
	if s == nil {
		return nil
	}
	for _, id := range []*graphID{s.User, s.Application, s.Conversation, s.Tag, s.Device} {
		if id != nil && (id.ID != "" || id.DisplayName != "") {
			return id
		}
	}
	return nil
}

type attachment struct {
	ID          string          `json:"id"`
	ContentType string          `json:"contentType"`
	ContentURL  string          `json:"contentUrl"`
	Content     json.RawMessage `json:"content"` // serialized JSON in a string, or (some exporters) the object itself
	Name        string          `json:"name"`
	TeamsAppID  string          `json:"teamsAppId"`
}

type mention struct {
	ID          json.RawMessage `json:"id"` // a number in v1.0, a string in old examples
	MentionText string          `json:"mentionText"`
	Mentioned   *identitySet    `json:"mentioned"`
}

type reaction struct {
	ReactionType    string `json:"reactionType"`
	DisplayName     string `json:"displayName"`
	CreatedDateTime string `json:"createdDateTime"`
	// User is a chatMessageReactionIdentitySet ({"user": {...}}) in v1.0, the identity
	// itself ({"id": ..., "displayName": ...}) in old examples.
	User *struct {
		graphID
		User        *graphID `json:"user"`
		Application *graphID `json:"application"`
	} `json:"user"`
}

func (r reaction) who() *graphID {
	switch {
	case r.User == nil:
		return nil
	case r.User.User != nil:
		return r.User.User
	case r.User.Application != nil:
		return r.User.Application
	case r.User.ID != "" || r.User.DisplayName != "":
		return &r.User.graphID
	}
	return nil
}

// eventDetail is the union of the eventMessageDetail subtypes' members that are used.
type eventDetail struct {
	Type                        string       `json:"@odata.type"`
	Initiator                   *identitySet `json:"initiator"`
	Members                     []graphID    `json:"members"`
	VisibleHistoryStartDateTime string       `json:"visibleHistoryStartDateTime"`
	ChatDisplayName             string       `json:"chatDisplayName"`
	ChannelDisplayName          string       `json:"channelDisplayName"`
	ChannelDescription          string       `json:"channelDescription"`
	TeamDisplayName             string       `json:"teamDisplayName"`
	TeamDescription             string       `json:"teamDescription"`
	TeamsAppDisplayName         string       `json:"teamsAppDisplayName"`
	TabID                       string       `json:"tabId"`
	CallEventType               string       `json:"callEventType"`
	CallDuration                string       `json:"callDuration"`
	CallParticipants            []struct {
		Participant *identitySet `json:"participant"`
	} `json:"callParticipants"`
	CallRecordingDisplayName string       `json:"callRecordingDisplayName"`
	CallRecordingURL         string       `json:"callRecordingUrl"`
	CallRecordingDuration    string       `json:"callRecordingDuration"`
	CallRecordingStatus      string       `json:"callRecordingStatus"`
	MeetingOrganizer         *identitySet `json:"meetingOrganizer"`
	ConversationMemberRoles  []string     `json:"conversationMemberRoles"`
	ConversationMemberUser   *graphID     `json:"conversationMemberUser"`
	MeetingChatEnabled       *bool        `json:"meetingChatEnabled"`
}
