// Package filekey is the one place that builds Global Relay fileKeys.
//
// A key is "default/<watch>/<sha256 hex>/<name>", where name is the file's base name reduced to
// the characters [A-Za-z0-9._-]. The SHA-256 makes keys content-addressed: the same bytes under
// the same name in the same watch always get the same key, and different bytes never share one,
// so a retried PUT re-sends identical bytes and a rewritten file gets a new key while the old
// key keeps the old bytes.
package filekey

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strings"
)

// Prefix is the part every Global Relay fileKey starts with.
const Prefix = "default/"

// maxName bounds the name segment so keys stay readable and well under URL limits.
const maxName = 120

// Build returns the fileKey for a file of watch with content hash sha256Hex and relative path rel.
func Build(watch, sha256Hex, rel string) string {
	return Prefix + watch + "/" + sha256Hex + "/" + SafeName(path.Base(rel))
}

// SafeName reduces a file name to [A-Za-z0-9._-]: every run of other bytes (spaces, unicode,
// control characters, invalid UTF-8) becomes one "_". The extension is kept when the name is
// shortened. A name that would be empty or only dots becomes "file".
func SafeName(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	lastSub := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '.' || c == '-' || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
			b.WriteByte(c)
			lastSub = false
			continue
		}
		if !lastSub {
			b.WriteByte('_')
			lastSub = true
		}
	}
	s := b.String()
	if strings.Trim(s, ".") == "" {
		return "file"
	}
	if len(s) > maxName {
		ext := path.Ext(s)
		if len(ext) > 16 {
			ext = ""
		}
		s = s[:maxName-len(ext)] + ext
	}
	return s
}

// DisplayName is the name shown to people (event "filename"): the base name as valid UTF-8,
// with control characters replaced, so it survives JSON and log lines unchanged in meaning.
func DisplayName(rel string) string {
	name := strings.ToValidUTF8(path.Base(rel), "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '\uFFFD'
		}
		return r
	}, name)
}

// Valid reports whether key has the shape Build produces: the prefix, at least one more
// segment, no empty, "." or ".." segment, and only safe characters.
func Valid(key string) bool {
	if !strings.HasPrefix(key, Prefix) || len(key) == len(Prefix) {
		return false
	}
	for _, seg := range strings.Split(key[len(Prefix):], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c == '.' || c == '-' || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
				return false
			}
		}
	}
	return true
}

// External is the placeholder fileKey of a file kept outside the archive (a fileHref): Global
// Relay requires a fileKey next to fileHref but never looks it up. It is stable per watch and
// link: "default/<watch>/external/<sha256 of href, 32 hex>/<name>".
func External(watch, href, name string) string {
	sum := sha256.Sum256([]byte(href))
	return Prefix + watch + "/external/" + hex.EncodeToString(sum[:16]) + "/" + SafeName(name)
}
