// Package config owns archivist's configuration: it reads one YAML file, applies defaults,
// resolves relative paths against the folder of that file (not the working directory),
// reads the secrets that the file points to, and validates everything before the daemon
// touches a watch folder or the archive.
//
// Validation is strict and complete. An unknown key is an error, at any depth, so a typo
// never silently falls back to a default; every problem is reported at once, and each
// message starts with the path of the key at fault:
//
//	config /etc/archivist/archivist.yaml: globalrelay.urll: unknown key, did you mean "url"? (line 4)
//	config /etc/archivist/archivist.yaml: watches[1].name: duplicate watch name "teams" (also watches[0])
//
// Each problem is a *KeyError. Findings that should not stop the daemon, such as a
// credentials file that group or others can read, go to Config.Warnings for the caller to
// log.
//
// Durations use Go syntax ("5s", "1m30s"). A key that is absent, or present with no value,
// keeps its default; a key that is present with a zero value ("scan_interval: 0",
// "inline_images: false", "ignore: []") means that zero value.
//
// Secrets are read from files named in the config, never written in it, and are held as
// Secret, which prints and marshals as "[redacted]", so a Config can be logged whole.
//
// The package does not watch the file or reload it: a changed configuration takes effect
// when the daemon restarts. It does not create the journal or the watch folders either;
// it only checks that the folders exist.
package config
