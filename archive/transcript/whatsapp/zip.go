package whatsapp

import (
	"archive/zip"
	"fmt"
	"path"
	"strings"

	"github.com/archivist-project/archivist/archive/transcript"
	"github.com/archivist-project/archivist/archive/transcript/zipsafe"
)

// zip is the shared ZIP safety rules, reported as this package's *Error.
func (c *Chat) zip() zipsafe.Rules {
	return zipsafe.Rules{MaxRatio: c.limits.MaxRatio, RatioFloor: c.limits.RatioFloor,
		Unsafe: ErrUnsafeEntry, Bomb: ErrBomb, Invalid: transcript.ErrInvalid,
		Errorf: func(entry string, err error, format string, args ...any) error {
			return c.entryError(entry, err, format, args...)
		}}
}

// safeEntries returns the entries that may be opened, recording a problem for every other one.
func (c *Chat) safeEntries(zr *zip.Reader) []*zip.File {
	files, problems := c.zip().Entries(zr.File)
	c.problems = append(c.problems, problems...)
	return files
}

func (c *Chat) entryError(entry string, err error, format string, args ...any) *Error {
	return &Error{File: c.name, Entry: entry, Reason: fmt.Sprintf(format, args...), Err: err}
}

// ChatEntry reports whether a ZIP entry's name is a WhatsApp chat text: "_chat.txt" (iOS) or
// "WhatsApp Chat with NAME.txt" (Android, also in German, French and Spanish), at the root or
// in one folder.
func ChatEntry(name string) bool {
	if strings.Count(name, "/") > 1 {
		return false
	}
	base := path.Base(name)
	return base == "_chat.txt" || androidTitle(base) != ""
}

// MatchText reports whether relPath names a loose chat text: "WhatsApp Chat with NAME.txt"
// (and its translations), or "_chat.txt" in a folder named "WhatsApp Chat - NAME" (an
// unpacked iOS export).
func MatchText(relPath string) bool {
	base := path.Base(relPath)
	if base == "_chat.txt" {
		return iosTitle(path.Base(path.Dir(relPath))) != ""
	}
	return androidTitle(base) != ""
}

// findChat picks the chat text among the safe entries and indexes the media beside it.
func (c *Chat) findChat(files []*zip.File) (*zip.File, error) {
	var chats []*zip.File
	for _, f := range files {
		if ChatEntry(f.Name) {
			chats = append(chats, f)
		}
	}
	if len(chats) != 1 {
		reason := "no _chat.txt or \"WhatsApp Chat with NAME.txt\" at the root or in one folder"
		if len(chats) > 1 {
			reason = fmt.Sprintf("%d chat texts (%s, %s, ...): one chat per ZIP", len(chats), chats[0].Name, chats[1].Name)
		}
		return nil, c.entryError("", ErrNotExport, "%s", reason)
	}
	chat := chats[0]
	if err := c.zip().CheckSize(chat, c.limits.MaxText); err != nil {
		return nil, err
	}
	dir := path.Dir(chat.Name)
	c.media = map[string]*zip.File{}
	for _, f := range files {
		if f != chat && path.Dir(f.Name) == dir {
			c.media[path.Base(f.Name)] = f
		}
	}
	return chat, nil
}
