package whatsapp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// rawMsg is one message as written: its header line and its continuation lines.
type rawMsg struct {
	line int // of the header
	hdr  header
	body string // hdr.rest and the continuation lines, joined by "\n"
}

// scanner splits a chat text into messages, reading one bounded line at a time.
type scanner struct {
	c       *Chat
	br      *bufio.Reader
	st      style
	lineNo  int
	read    int64
	pending *rawMsg
	body    strings.Builder
	done    bool
}

func (c *Chat) newScanner(r io.Reader) *scanner {
	return &scanner{c: c, br: bufio.NewReaderSize(r, c.limits.MaxLine), st: c.style}
}

// readLine returns the next line without its line end, ok false at the end of the text.
func (s *scanner) readLine() (string, bool, error) {
	b, err := s.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", false, s.c.errorf(s.lineNo+1, ErrTooLarge, "line longer than %d bytes: not a WhatsApp chat export", s.c.limits.MaxLine)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		var e *Error
		if errors.As(err, &e) {
			return "", false, e
		}
		return "", false, s.c.errorf(s.lineNo+1, err, "cannot read: %v", err)
	}
	if len(b) == 0 && err != nil {
		return "", false, nil
	}
	s.lineNo++
	if s.read += int64(len(b)); s.read > s.c.limits.MaxText {
		return "", false, s.c.errorf(s.lineNo, ErrTooLarge, "the chat text is larger than %d bytes", s.c.limits.MaxText)
	}
	b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
	if s.lineNo == 1 {
		b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	}
	if !utf8.Valid(b) {
		return strings.ToValidUTF8(string(b), "\uFFFD"), true, nil
	}
	return string(b), true, nil
}

// next returns the next message, nil at the end.
func (s *scanner) next() (*rawMsg, error) {
	for !s.done {
		line, ok, err := s.readLine()
		if err != nil {
			return nil, err
		}
		if !ok {
			s.done = true
			break
		}
		if h, st, isHeader := parseHeader(line, s.st); isHeader {
			s.st = st
			prev := s.flush()
			s.pending = &rawMsg{line: s.lineNo, hdr: h}
			s.body.WriteString(h.rest)
			if prev != nil {
				return prev, nil
			}
			continue
		}
		if s.pending == nil {
			if strings.TrimSpace(trimMarks(line)) == "" {
				continue // blank lines before the first message
			}
			return nil, s.c.errorf(s.lineNo, ErrNotExport, "%s is not a WhatsApp message line (\"[date, time] name: text\" or \"date, time - name: text\")", excerpt(line))
		}
		if s.body.Len()+1+len(line) > s.c.limits.MaxMessage {
			return nil, s.c.errorf(s.pending.line, ErrTooLarge, "message longer than %d bytes", s.c.limits.MaxMessage)
		}
		s.body.WriteByte('\n')
		s.body.WriteString(line)
	}
	if m := s.flush(); m != nil {
		return m, nil
	}
	if s.lineNo == 0 || s.st == styleNone {
		return nil, s.c.errorf(0, ErrNotExport, "no message lines: not a WhatsApp chat export")
	}
	return nil, nil
}

func (s *scanner) flush() *rawMsg {
	m := s.pending
	if m == nil {
		return nil
	}
	m.body = s.body.String()
	s.body.Reset()
	s.pending = nil
	return m
}

// excerpt quotes the start of a line for an error.
func excerpt(line string) string {
	if len(line) > 60 {
		cut := 60
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		return fmt.Sprintf("%q...", line[:cut])
	}
	return fmt.Sprintf("%q", line)
}
