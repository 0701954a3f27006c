package teams

import (
	"fmt"
	"strings"

	"github.com/archivist-project/archivist/archive/transcript"
)

// system maps a system event message. The initiator is eventDetail.initiator (Teams sends
// system messages "from" nobody); member changes name the members as affected.
func (b *builder) system(ev *transcript.Event, d *eventDetail) {
	from := b.party(d.Initiator)
	if d.Initiator.who() == nil && b.m.From.who() != nil {
		from = b.party(b.m.From)
	}
	ev.From, ev.Type = b.use(from), transcript.EventNotice
	kind := strings.TrimSuffix(strings.TrimPrefix(d.Type, "#microsoft.graph."), "EventMessageDetail")
	kind = strings.TrimPrefix(kind, "microsoft.graph.")
	var text string
	switch kind {
	case "membersAdded", "membersJoined", "membersDeleted", "membersLeft":
		text = b.members(ev, d, kind, from)
	case "callStarted", "callEnded", "callRecording", "callTranscript":
		text = b.call(d, kind, from.DisplayName)
	default:
		text = b.change(d, kind, from.DisplayName)
	}
	b.notes = append(b.notes, text)
}

// members maps member changes: added is an Invitation, joined a User_joined.
func (b *builder) members(ev *transcript.Event, d *eventDetail, kind string, from transcript.Participant) string {
	var names []string
	for i := range d.Members {
		p := b.person(&d.Members[i], false)
		ev.Affected = append(ev.Affected, b.use(p))
		names = append(names, p.DisplayName)
	}
	list := joinNames(names)
	switch kind {
	case "membersAdded":
		ev.Type = transcript.EventInvited
		text := fmt.Sprintf("%s added %s.", from.DisplayName, list)
		if t, err := parseTime(d.VisibleHistoryStartDateTime); err == nil {
			text += " Chat history shared from " + when(t) + "."
		}
		return text
	case "membersJoined":
		ev.Type = transcript.EventJoined
		if len(ev.Affected) == 1 { // the one who joined is the initiator of User_joined
			ev.From, ev.Affected = ev.Affected[0], nil
		}
		return list + " joined."
	case "membersDeleted":
		if len(d.Members) == 1 && d.Members[0].ID == from.ID {
			return list + " left."
		}
		return fmt.Sprintf("%s removed %s.", from.DisplayName, list)
	}
	return list + " left."
}

func joinNames(names []string) string {
	switch len(names) {
	case 0:
		return "nobody named"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func (b *builder) call(d *eventDetail, kind, who string) string {
	what := firstOf(d.CallEventType, "call")
	switch kind {
	case "callStarted":
		return fmt.Sprintf("%s started a %s.", who, what)
	case "callEnded":
		text := fmt.Sprintf("A %s ended", what)
		if dur, ok := isoDuration(d.CallDuration); ok {
			text += " after " + dur
		}
		var names []string
		for _, p := range d.CallParticipants {
			if id := p.Participant.who(); id != nil {
				names = append(names, b.rd.nameOf(id))
			}
		}
		if len(names) > 0 {
			text += "; participants: " + strings.Join(names, ", ")
		}
		return text + "."
	case "callRecording":
		text := "A recording"
		if n := strings.TrimSpace(d.CallRecordingDisplayName); n != "" {
			text += fmt.Sprintf(" %q", n)
		}
		if dur, ok := isoDuration(d.CallRecordingDuration); ok {
			text += " (" + dur + ")"
		}
		if s := strings.TrimSpace(d.CallRecordingStatus); s != "" {
			text += ", status " + s
		}
		if u := cleanURL(d.CallRecordingURL); u != "" {
			text += ": " + u
		}
		return text + "."
	}
	return "A transcript of the meeting is available."
}

// change maps events about the chat, channel, team and apps; an unknown one says its type.
func (b *builder) change(d *eventDetail, kind, who string) string {
	simple := map[string]string{
		"channelSetAsFavoriteByDefault":   "made the channel a favorite by default",
		"channelUnsetAsFavoriteByDefault": "made the channel no longer a favorite by default",
		"channelSharingUpdated":           "changed how the channel is shared",
		"messagePinned":                   "pinned a message",
		"messageUnpinned":                 "unpinned a message",
		"teamArchived":                    "archived the team",
		"teamUnarchived":                  "unarchived the team",
		"teamJoiningDisabled":             "turned off joining the team by code",
		"teamJoiningEnabled":              "turned on joining the team by code",
	}
	if s, ok := simple[kind]; ok {
		return who + " " + s + "."
	}
	named := map[string][2]string{
		"chatRenamed":               {"renamed the chat to %q.", d.ChatDisplayName},
		"channelAdded":              {"added the channel %q.", d.ChannelDisplayName},
		"channelDeleted":            {"deleted the channel %q.", d.ChannelDisplayName},
		"channelRenamed":            {"renamed the channel to %q.", d.ChannelDisplayName},
		"channelDescriptionUpdated": {"changed the channel description to %q.", d.ChannelDescription},
		"teamRenamed":               {"renamed the team to %q.", d.TeamDisplayName},
		"teamDescriptionUpdated":    {"changed the team description to %q.", d.TeamDescription},
		"teamCreated":               {"created the team %q.", d.TeamDisplayName},
		"teamsAppInstalled":         {"installed the app %q.", d.TeamsAppDisplayName},
		"teamsAppRemoved":           {"removed the app %q.", d.TeamsAppDisplayName},
		"teamsAppUpgraded":          {"upgraded the app %q.", d.TeamsAppDisplayName},
		"tabUpdated":                {"updated the tab %q.", d.TabID},
	}
	if f, ok := named[kind]; ok {
		return who + " " + fmt.Sprintf(f[0], f[1])
	}
	switch kind {
	case "conversationMemberRoleUpdated":
		member := "a member"
		if d.ConversationMemberUser != nil {
			member = b.rd.nameOf(d.ConversationMemberUser)
		}
		roles := firstOf(strings.Join(d.ConversationMemberRoles, ", "), "member")
		return fmt.Sprintf("%s made %s %s.", who, member, roles)
	case "meetingPolicyUpdated":
		state := "changed the meeting chat policy"
		if d.MeetingChatEnabled != nil && *d.MeetingChatEnabled {
			state = "turned the meeting chat on"
		} else if d.MeetingChatEnabled != nil {
			state = "turned the meeting chat off"
		}
		return who + " " + state + "."
	case "":
		return fmt.Sprintf("Teams system event from %s, without details.", who)
	}
	return fmt.Sprintf("Teams system event %q from %s.", strings.TrimPrefix(d.Type, "#"), who)
}
