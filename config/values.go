package config

import (
	"fmt"
	"io"
	"strconv"
	"time"
)

// Duration is a time.Duration written in Go syntax ("5s", "1m30s") in the YAML file.
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String returns d in Go syntax, so that logs show "30s" and not nanoseconds.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes d in Go syntax.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses Go duration syntax. A bare number other than 0 is an error: "30"
// could mean seconds or milliseconds, and guessing wrong would go unnoticed.
func (d *Duration) UnmarshalText(text []byte) error {
	s := string(text)
	v, err := time.ParseDuration(s)
	if err != nil {
		if _, numErr := strconv.ParseFloat(s, 64); numErr == nil {
			return fmt.Errorf("invalid duration %q: add a unit, e.g. \"%ss\" or \"%sm\"", s, s, s)
		}
		return fmt.Errorf("invalid duration %q", s)
	}
	*d = Duration(v)
	return nil
}

// redacted is what a Secret prints as, whatever the verb or encoder.
const redacted = "[redacted]"

// Secret holds a credential. Every way of printing or encoding it gives "[redacted]", so a
// Config can be logged or dumped whole; only Reveal returns the value.
type Secret string

// Reveal returns the credential itself. Call it only where the value is sent.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]".
func (s Secret) String() string { return redacted }

// GoString returns "[redacted]".
func (s Secret) GoString() string { return redacted }

// Format prints "[redacted]" for every verb ("\"[redacted]\"" for %q), so that %x or %d
// cannot reveal the bytes either.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		io.WriteString(f, strconv.Quote(redacted))
		return
	}
	io.WriteString(f, redacted)
}

// MarshalJSON returns "[redacted]" as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(redacted)), nil }

// MarshalText returns "[redacted]"; YAML and other text encoders use it.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// KeyError is a problem with one key of the configuration. Parse and Validate return one
// per problem, joined with errors.Join; use errors.As to find which key was at fault.
type KeyError struct {
	Key  string // path of the key: "journal", "globalrelay.url", "watches[1].sender.email"
	Line int    // line of the YAML file, when the problem was found while decoding; else 0
	Err  error  // what is wrong; wraps the underlying error, e.g. from os.Open
}

func (e *KeyError) Error() string {
	s := e.Key + ": " + e.Err.Error()
	if e.Line > 0 {
		s += " (line " + strconv.Itoa(e.Line) + ")"
	}
	return s
}

func (e *KeyError) Unwrap() error { return e.Err }
