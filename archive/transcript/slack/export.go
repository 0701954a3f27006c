package slack

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/archivist-project/archivist/archive/transcript"
	"github.com/archivist-project/archivist/archive/transcript/zipsafe"
)

// Limits bound what is read from one export. A zero field takes its default.
type Limits struct {
	MaxDayFile int64 // uncompressed bytes of one day file, held in memory whole (default 64 MiB)
	MaxList    int64 // uncompressed bytes of users.json, channels.json, ... (streamed; default 512 MiB)
	MaxUpload  int64 // uncompressed bytes of one __uploads file (default 1.0 GB, Global Relay's limit)
	// MaxRatio is the largest uncompressed/compressed ratio accepted for an entry larger
	// than RatioFloor (default 100; Slack's JSON compresses about 10:1, bombs 1000:1).
	MaxRatio   int64
	RatioFloor int64 // default 1 MiB
}

func (l Limits) withDefaults() Limits {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxDayFile, 64<<20)
	def(&l.MaxList, 512<<20)
	def(&l.MaxUpload, transcript.MaxAttachmentSize)
	def(&l.MaxRatio, 100)
	def(&l.RatioFloor, 1<<20)
	return l
}

// Options configure Open. The zero value is the default.
type Options struct {
	// Workspace overrides the workspace part of conversation and message keys (default: the
	// team_id most users in users.json have).
	Workspace string
	Limits    Limits
}

// Export is an opened Slack export. It reads from the io.ReaderAt given to Open, which must
// stay open (and unchanged) while the Export is used. Not safe for concurrent Walks.
type Export struct {
	name      string
	zr        *zip.Reader
	prefix    string // "" or "<top folder>/"
	limits    Limits
	workspace string

	teams    map[string]int   // team_id -> users.json users in it
	users    map[string]*user // by user id
	bots     map[string]*user // by profile.bot_id
	channels map[string]string
	convs    []*Conversation
	days     map[string][]*zip.File // folder -> day files in date order
	uploads  map[string][]*zip.File // file id -> entries under __uploads/<id>/
	refused  map[string]bool        // upload file ids whose entries were refused
	problems []error
}

// Open reads the central directory and the lists (users, channels, groups, DMs, group DMs)
// of the export in r; name names it in errors (the ZIP's path in the watch). It fails, with
// an *Error, when the ZIP does not open, is not a Slack export, or a list cannot be read;
// problems with single entries are kept and returned by Walk, after everything else is read.
func Open(r io.ReaderAt, size int64, name string, opts Options) (*Export, error) {
	x := &Export{name: name, limits: opts.Limits.withDefaults(),
		users: map[string]*user{}, bots: map[string]*user{}, channels: map[string]string{},
		days: map[string][]*zip.File{}, uploads: map[string][]*zip.File{}, refused: map[string]bool{}}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // insecure names are refused one by one below
		return nil, x.errorf("", fmt.Errorf("%w: %w", transcript.ErrInvalid, err), "not a readable ZIP: %v", err)
	}
	x.zr = zr
	files, problems := x.zip().Entries(zr.File)
	x.problems = append(x.problems, problems...)
	lists, err := x.classify(files)
	if err != nil {
		return nil, err
	}
	if err := x.readLists(lists); err != nil {
		return nil, err
	}
	x.workspace = opts.Workspace
	if x.workspace == "" {
		x.workspace = scrub(x.majorityTeam())
	}
	for _, c := range x.convs {
		c.Key, c.Title = x.workspace+"/"+c.ID, x.title(c)
	}
	x.checkFolders()
	return x, nil
}

// Name is the name given to Open.
func (x *Export) Name() string { return x.name }

// Workspace is the workspace part of every key ("" if users.json states no team_id).
func (x *Export) Workspace() string { return x.workspace }

// Conversations are the conversations of the lists, in list order (channels, groups, group
// DMs, DMs), including those without day files.
func (x *Export) Conversations() []*Conversation { return slices.Clone(x.convs) }

// zip is the shared ZIP safety rules, reported as this package's *Error.
func (x *Export) zip() zipsafe.Rules {
	return zipsafe.Rules{MaxRatio: x.limits.MaxRatio, RatioFloor: x.limits.RatioFloor,
		Unsafe: ErrUnsafeEntry, Bomb: ErrBomb, Invalid: transcript.ErrInvalid,
		Errorf: func(entry string, err error, format string, args ...any) error {
			return x.errorf(entry, err, format, args...)
		}}
}

// listNames are the entries at the export's root that Open reads.
var listNames = []string{"users.json", "org_users.json", "channels.json", "groups.json", "mpims.json", "dms.json"}

// classify finds the export's root and sorts its entries into lists, day files and uploads.
func (x *Export) classify(files []*zip.File) (map[string]*zip.File, error) {
	byName := map[string]*zip.File{}
	tops := map[string]bool{}
	for _, f := range files {
		byName[f.Name] = f
		top, _, _ := strings.Cut(f.Name, "/")
		tops[top] = true
	}
	if byName["users.json"] == nil || byName["channels.json"] == nil {
		for top := range tops {
			x.prefix = top + "/"
		}
		if len(tops) != 1 || byName[x.prefix+"users.json"] == nil || byName[x.prefix+"channels.json"] == nil {
			return nil, x.notExport()
		}
	}
	lists := map[string]*zip.File{}
	for _, f := range files {
		rel, ok := strings.CutPrefix(f.Name, x.prefix)
		if !ok {
			continue
		}
		parts := strings.Split(rel, "/")
		switch {
		case len(parts) == 1 && slices.Contains(listNames, rel):
			if err := x.zip().CheckSize(f, x.limits.MaxList); err != nil {
				return nil, err
			}
			lists[rel] = f
		case len(parts) == 3 && parts[0] == "__uploads":
			x.addUpload(f, parts[1])
		case len(parts) == 2 && isDayFile(parts[1]):
			if err := x.zip().CheckSize(f, x.limits.MaxDayFile); err != nil {
				x.problems = append(x.problems, err)
				continue
			}
			x.days[parts[0]] = append(x.days[parts[0]], f)
		}
	}
	for _, d := range x.days {
		slices.SortFunc(d, func(a, b *zip.File) int { return strings.Compare(a.Name, b.Name) })
	}
	return lists, nil
}

// notExport is ErrNotExport, saying why if entries were refused (a symlinked users.json).
func (x *Export) notExport() *Error {
	reason := ErrNotExport.Error()
	var first *Error
	if len(x.problems) > 0 && errors.As(x.problems[0], &first) {
		reason += fmt.Sprintf(" (%d entries refused; the first: %s: %s)", len(x.problems), first.Entry, first.Reason)
	}
	return x.errorf("", ErrNotExport, "%s", reason)
}

func (x *Export) addUpload(f *zip.File, id string) {
	if scrub(f.Name) != f.Name { // its Entry would carry the token into the archive
		x.problems = append(x.problems, x.errorf(f.Name, ErrUnsafeEntry, "the name holds a Slack token: not read"))
		x.refused[id] = true
		return
	}
	if err := x.zip().CheckSize(f, x.limits.MaxUpload); err != nil {
		x.problems = append(x.problems, err)
		x.refused[id] = true
		return
	}
	x.uploads[id] = append(x.uploads[id], f)
}

func isDayFile(base string) bool {
	day, ok := strings.CutSuffix(base, ".json")
	if !ok || len(day) != len("2006-01-02") {
		return false
	}
	_, err := time.Parse("2006-01-02", day)
	return err == nil
}

// OpenEntry opens a file's bytes named by a transcript.FileRef.Entry (a path relative to the
// export's root, "__uploads/<id>/<name>"), bounded by Limits.MaxUpload and MaxRatio on the
// bytes actually read. Errors are *Error.
func (x *Export) OpenEntry(entry string) (io.ReadCloser, error) {
	parts := strings.Split(entry, "/")
	if len(parts) == 3 && parts[0] == "__uploads" {
		for _, f := range x.uploads[parts[1]] {
			if f.Name == x.prefix+entry {
				return x.zip().Open(f, x.limits.MaxUpload)
			}
		}
	}
	return nil, x.errorf(entry, fs.ErrNotExist, "no such upload in the export")
}

// checkFolders reports every folder with day files that no list names.
func (x *Export) checkFolders() {
	listed := map[string]bool{}
	for _, c := range x.convs {
		listed[c.folder] = true
	}
	var unlisted []string
	for folder := range x.days {
		if !listed[folder] {
			unlisted = append(unlisted, folder)
		}
	}
	slices.Sort(unlisted)
	for _, folder := range unlisted {
		x.problems = append(x.problems, x.errorf(x.prefix+folder+"/", ErrUnlisted,
			"%d day files in a folder that channels.json, groups.json, dms.json and mpims.json do not name: not read", len(x.days[folder])))
	}
}

// Recognize reports whether the ZIP in r looks like a Slack export (users.json and
// channels.json at its root or in its single top folder), from its central directory alone:
// nothing is decompressed. A caller that must not upload an export (its JSON carries the
// export's access token) asks this first.
func Recognize(r io.ReaderAt, size int64) bool {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return false
	}
	names := map[string]bool{}
	tops := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
		top, _, _ := strings.Cut(f.Name, "/")
		tops[top] = true
	}
	if names["users.json"] && names["channels.json"] {
		return true
	}
	for top := range tops {
		return len(tops) == 1 && names[top+"/users.json"] && names[top+"/channels.json"]
	}
	return false
}
