// Package export opens the chat exports a transcripts watch takes as they are: a Slack
// workspace export ZIP, a WhatsApp "Export chat" (ZIP or loose text) and a Microsoft Teams
// dump of Graph chatMessages. It only recognises a file and hands out the format-neutral
// conversations its parser reads, one batch of one conversation at a time; building events,
// resolving people and the exactly-once ledger are the pipeline's.
package export

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/archivist-project/archivist/archive/identity"
	"github.com/archivist-project/archivist/archive/transcript"
	"github.com/archivist-project/archivist/archive/transcript/slack"
	"github.com/archivist-project/archivist/archive/transcript/teams"
	"github.com/archivist-project/archivist/archive/transcript/whatsapp"
	"github.com/archivist-project/archivist/watcher/beneath"
)

// Formats of a Source, also the identity directory's source of its participants.
const (
	Slack    = transcript.FormatSlack
	WhatsApp = whatsapp.Format
	Teams    = teams.FormatTeams
)

var (
	// ErrNotExport is returned when a candidate file is none of the exports: it keeps the
	// behaviour of any other file of a transcripts watch (uploaded, and loose unless a
	// transcript references it).
	ErrNotExport = errors.New("not a chat export")
	// ErrNoTimezone is wrapped when a WhatsApp export is opened without a time zone: its
	// times are local, so the watch's timezone: key must say where.
	ErrNoTimezone = errors.New("WhatsApp times are local and the watch sets no timezone: (an IANA name such as Europe/Berlin)")
)

// Source is one opened export.
type Source interface {
	// Format is Slack, WhatsApp or Teams.
	Format() string
	// Walk calls visit for each batch of events of one conversation, conversations one after
	// the other, events in order. Problems with single entries or messages do not stop it:
	// they are returned at the end (errors.Join), after everything readable was visited;
	// visit's error is returned as it is.
	Walk(ctx context.Context, visit func(*transcript.Conversation) error) error
	// OpenEntry opens the bytes of a file named by transcript.FileRef.Entry.
	OpenEntry(entry string) (io.ReadCloser, error)
}

// Options configure Open.
type Options struct {
	Location  *time.Location     // the watch's timezone: (WhatsApp's local times); nil if not set
	DateOrder whatsapp.DateOrder // the watch's date_order:
	Directory *identity.Directory
}

// Candidate reports, by its name, whether rel may be an export: a ZIP (Slack or WhatsApp,
// told apart by its entries), a Teams dump (*.teams.json) or a loose WhatsApp chat text.
func Candidate(rel string) bool {
	return strings.EqualFold(path.Ext(rel), ".zip") || teams.Match(rel) || whatsapp.MatchText(rel)
}

// Open opens the export f (the candidate rel, opened safely by the caller, size bytes);
// root is the watch root, the folder a loose WhatsApp text's media are looked for beneath.
// It returns ErrNotExport for a ZIP that is neither a Slack nor a WhatsApp export; other
// errors name the file (and the entry) and say why it cannot be read.
func Open(f *os.File, size int64, rel string, root fs.FS, opts Options) (Source, error) {
	switch {
	case teams.Match(rel):
		return &teamsSource{f: f, name: rel, opts: teams.Options{Directory: opts.Directory}}, nil
	case whatsapp.MatchText(rel):
		if opts.Location == nil {
			return nil, fmt.Errorf("%s: %w", rel, ErrNoTimezone)
		}
		c, err := whatsapp.OpenText(root, rel, whatsapp.Options{Location: opts.Location, DateOrder: opts.DateOrder})
		if err != nil {
			return nil, err
		}
		return whatsappSource{c}, nil
	case !strings.EqualFold(path.Ext(rel), ".zip"):
		return nil, ErrNotExport
	}
	x, err := slack.Open(f, size, rel, slack.Options{})
	if err == nil {
		return slackSource{x}, nil
	}
	if !errors.Is(err, slack.ErrNotExport) {
		return nil, err
	}
	if !holdsChat(f, size) {
		return nil, ErrNotExport
	}
	if opts.Location == nil {
		return nil, fmt.Errorf("%s: %w", rel, ErrNoTimezone)
	}
	c, err := whatsapp.OpenZip(f, size, rel, whatsapp.Options{Location: opts.Location, DateOrder: opts.DateOrder})
	if err != nil {
		return nil, err
	}
	return whatsappSource{c}, nil
}

// holdsChat reports whether the ZIP has a WhatsApp chat text entry (names only: nothing is
// opened here; whatsapp.OpenZip applies the safety rules).
func holdsChat(r io.ReaderAt, size int64) bool {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return false
	}
	for _, f := range zr.File {
		if whatsapp.ChatEntry(f.Name) {
			return true
		}
	}
	return false
}

type slackSource struct{ x *slack.Export }

func (slackSource) Format() string { return Slack }

func (s slackSource) Walk(ctx context.Context, visit func(*transcript.Conversation) error) error {
	return s.x.Walk(ctx, func(d *slack.Day) error { return visit(d.Transcript()) })
}

func (s slackSource) OpenEntry(entry string) (io.ReadCloser, error) { return s.x.OpenEntry(entry) }

type whatsappSource struct{ c *whatsapp.Chat }

func (whatsappSource) Format() string { return WhatsApp }

func (s whatsappSource) Walk(ctx context.Context, visit func(*transcript.Conversation) error) error {
	return s.c.Walk(ctx, func(b *whatsapp.Batch) error { return visit(b.Transcript()) })
}

func (s whatsappSource) OpenEntry(entry string) (io.ReadCloser, error) { return s.c.OpenEntry(entry) }

type teamsSource struct {
	f    *os.File
	name string
	opts teams.Options
}

func (*teamsSource) Format() string { return Teams }

// Walk reads the dump from its start each time.
func (s *teamsSource) Walk(ctx context.Context, visit func(*transcript.Conversation) error) error {
	r := io.NewSectionReader(s.f, 0, 1<<62)
	return teams.Read(ctx, r, s.name, s.opts, func(b *teams.Batch) error { return visit(b.Transcript()) })
}

func (s *teamsSource) OpenEntry(entry string) (io.ReadCloser, error) {
	return nil, fmt.Errorf("%s: %s: a Teams dump holds no file bytes", s.name, entry)
}

// RootFS is the watch root as an fs.FS whose files are opened with package beneath: no
// symbolic link in any component, nothing outside the root, only regular files.
func RootFS(root string) fs.FS { return rootFS(root) }

type rootFS string

func (r rootFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, err := beneath.Open(string(r), name)
	if err != nil {
		return nil, err
	}
	return f, nil
}
