package statuspage

import (
	"fmt"
	"strings"

	"github.com/archivist-project/archivist/cmd/archivist/control"
)

// advice says what an operator can do about a held file, from its reason. The page only
// says it: every action is an operator command, never a button here.
func advice(it control.Item) string {
	reason := strings.ToLower(it.Reason + " " + it.LastError)
	retry := fmt.Sprintf("then run `archivist retry %d`", it.ID)
	switch {
	case it.State != "held":
		return ""
	case strings.Contains(reason, "symlink") || strings.Contains(reason, "not a regular file") ||
		strings.Contains(reason, "fifo") || strings.Contains(reason, "socket") || strings.Contains(reason, "device"):
		return "archivist never follows links or opens special files: put the file itself in the folder instead (the new file is archived on its own)."
	case strings.Contains(reason, "too large") || strings.Contains(reason, "larger than"):
		return "The archive accepts files up to 1 GiB: split the export into smaller files and drop them again."
	case strings.Contains(reason, "permission denied") || strings.Contains(reason, "unreadable"):
		return "archivist cannot read the file: give its service user read access, " + retry + "."
	case strings.Contains(reason, "transcript") || strings.Contains(reason, "$."):
		return "The export is not valid as it is: fix it at the source and drop the corrected export (it is archived as a new version), or " + retry + " once the missing pieces are there."
	case strings.Contains(reason, "attachment"):
		return "An attachment the transcript names is missing or unusable: add it next to the transcript, " + retry + "."
	case strings.Contains(reason, "refused") || strings.Contains(reason, "400") || strings.Contains(reason, "403"):
		return "The archive refused it: read the error in the history below, fix the cause (configuration or file), " + retry + "."
	}
	return "Read the history below for the cause, fix it, " + retry + "."
}
