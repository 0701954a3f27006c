package teams

import (
	"os"
	"strings"
	"testing"
)

// docs/transcript-format.md states the limits and names the types; keep them in step.
func TestDocsMatchTheCode(t *testing.T) {
	md, err := os.ReadFile("../../../docs/transcript-format.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(md), "## Microsoft Teams messages")
	if !ok {
		t.Fatal("no Teams section in docs/transcript-format.md")
	}
	o := Options{}.withDefaults()
	if o.MaxMessage != 16<<20 || o.BatchSize != 500 || !strings.Contains(section, "bounded to 16 MiB") ||
		!strings.Contains(section, "batches of at most 500") || !strings.Contains(section, "`"+Suffix+"`") {
		t.Error("the documented limits or file naming differ from the code")
	}
	for _, kind := range []string{"membersAdded", "membersJoined", "membersDeleted", "membersLeft", "callEnded", "callStarted",
		"callRecording", "callTranscript", "chatRenamed", "channelAdded", "teamRenamed", "teamsAppInstalled", "conversationMemberRoleUpdated",
		"meetingPolicyUpdated", "messagePinned", "teamArchived", "tabUpdated", "channelSharingUpdated"} {
		if !strings.Contains(section, kind) {
			t.Errorf("the docs do not map %s", kind)
		}
	}
}
