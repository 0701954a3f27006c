package teams

import (
	"errors"
	"fmt"

	"github.com/archivist-project/archivist/archive/transcript"
)

var (
	// ErrNotChatMessages is wrapped when the file is JSON but holds no Graph chatMessages: an
	// object without a "value" array that is not a chatMessage either, or elements that are
	// not chatMessages.
	ErrNotChatMessages = fmt.Errorf("not Microsoft Graph chatMessages: %w", transcript.ErrInvalid)
	// ErrMessageTooLarge is wrapped when one JSON value (a message, or a member of the list
	// response) is larger than Options.MaxMessage; reading stops there.
	ErrMessageTooLarge = fmt.Errorf("chatMessage too large: %w", transcript.ErrTooLarge)
	// ErrNoConversation is wrapped for a message that states neither chatId nor
	// channelIdentity, in a file whose @odata.context names no chat or channel either, when
	// Options.Conversation is empty.
	ErrNoConversation = fmt.Errorf("no conversation: %w", transcript.ErrInvalid)
)

// errTooLarge is what the metered reader returns to the decoder.
var errTooLarge = errors.New("value too large")

// maxProblems bounds the problems kept for one file; the rest are counted.
const maxProblems = 1000

func (r *reader) problem(jsonPath string, err error, format string, args ...any) {
	if len(r.problems) >= maxProblems {
		r.dropped++
		return
	}
	r.problems = append(r.problems, &transcript.Error{File: r.name, JSONPath: jsonPath,
		Reason: fmt.Sprintf(format, args...), Err: err})
}
