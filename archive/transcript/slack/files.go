package slack

import (
	"archive/zip"
	"fmt"
	"net/url"
	"path"
	"strings"
	"unicode"

	"github.com/archivist-project/archivist/archive/transcript"
)

// files maps a message's files: bytes in __uploads/<id>/ become an Entry; any other file a
// link to its permalink, with a note saying the export does not contain it.
func (b *dayBuilder) files(m *message, index int) ([]transcript.FileRef, []string) {
	fs := m.Files
	if len(fs) == 0 && m.File != nil {
		fs = []file{*m.File}
	}
	var refs []transcript.FileRef
	var notes []string
	for i, f := range fs {
		name := fileName(f)
		if f.Mode == "tombstone" {
			notes = append(notes, fmt.Sprintf("File %s was deleted.", name))
			continue
		}
		if zf := b.x.upload(f); zf != nil {
			refs = append(refs, transcript.FileRef{Entry: strings.TrimPrefix(zf.Name, b.x.prefix), Name: name,
				Size: int64(zf.UncompressedSize64), JSONPath: scrub(fmt.Sprintf("%s $[%d].files[%d]", b.entry, index, i))})
			continue
		}
		accessible := f.Name != "" && f.Mode != "hidden_by_limit"
		if accessible && len(b.x.uploads) > 0 && !b.x.refused[f.ID] {
			b.problems = append(b.problems, b.x.errorf(b.entry, ErrMissingUpload,
				"$[%d].files[%d]: file %s (%s) is not in the export's __uploads/%s/; linked to its permalink instead", index, i, f.ID, name, f.ID))
		}
		href := cleanURL(f.Permalink)
		switch {
		case !accessible && href != "":
			notes = append(notes, fmt.Sprintf("File %s was not accessible to the exporter; the export did not contain it; linked to its Slack permalink.", name))
		case !accessible:
			notes = append(notes, fmt.Sprintf("File %s was not accessible to the exporter; the export did not contain it.", name))
		case href != "":
			notes = append(notes, fmt.Sprintf("File %s: the export did not contain it; linked to its Slack permalink.", name))
		default:
			notes = append(notes, fmt.Sprintf("File %s: the export did not contain it, and states no link to it.", name))
		}
		if href != "" {
			size := f.Size
			if size <= 0 {
				size = -1
			}
			refs = append(refs, transcript.FileRef{Href: href, Name: name, Size: size,
				JSONPath: scrub(fmt.Sprintf("%s $[%d].files[%d]", b.entry, index, i))})
		}
	}
	return refs, notes
}

// upload is the __uploads entry of f: the one named like f, else the only one in its folder.
func (x *Export) upload(f file) *zip.File {
	if f.ID == "" {
		return nil
	}
	entries := x.uploads[f.ID]
	for _, zf := range entries {
		if path.Base(zf.Name) == f.Name {
			return zf
		}
	}
	if len(entries) == 1 {
		return entries[0]
	}
	return nil
}

// fileName is a file's name to display: one file name, never empty.
func fileName(f file) string {
	n := firstOf(f.Name, f.Title, f.ID, "file")
	n = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || unicode.IsControl(r) {
			return '_'
		}
		return r
	}, scrub(n))
	if n == "." || n == ".." {
		n = "file"
	}
	return n
}

// cleanURL is u if it is an http(s) URL with a host, without the "t" query parameter (the
// export token) and anything else that holds a token; "" otherwise.
func cleanURL(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil {
		return ""
	}
	q := p.Query()
	for k, vs := range q {
		if k == "t" || strings.Contains(strings.Join(vs, ""), "xox") {
			q.Del(k)
		}
	}
	p.RawQuery = q.Encode()
	s := p.String()
	if strings.Contains(s, "xox") && tokenRE.MatchString(s) {
		return ""
	}
	return s
}
