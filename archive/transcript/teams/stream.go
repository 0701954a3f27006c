package teams

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/archivist-project/archivist/archive/transcript"
)

// array reads an array of chatMessages, the "value" of a list response or a whole file.
func (rd *reader) array(at string) error {
	for i := 0; rd.dec.More(); i++ {
		if err := rd.ctx.Err(); err != nil {
			return err
		}
		elem := fmt.Sprintf("%s[%d]", at, i)
		var raw json.RawMessage
		if err := rd.dec.Decode(&raw); err != nil {
			return rd.broken(elem, err, false)
		}
		if err := rd.message(elem, raw); err != nil {
			return err
		}
	}
	if _, err := rd.dec.Token(); err != nil { // the closing ]
		return rd.broken(at, err, false)
	}
	return nil
}

// object reads a list response: its "value" array is streamed; its other members are kept
// (bounded like a message) so that an object without "value", one chatMessage as GET
// /messages/{id} returns it, can be read as that message. A page without @odata.context
// keeps the previous page's.
func (rd *reader) object(at string) error {
	members := map[string]json.RawMessage{}
	var size int64
	sawValue := false
	for rd.dec.More() {
		tok, err := rd.dec.Token()
		if err != nil {
			return rd.broken(at, err, false)
		}
		key, _ := tok.(string)
		if key == "value" && !sawValue {
			if err := rd.valueArray(at + ".value"); err != nil {
				return err
			}
			sawValue = true
			continue
		}
		var raw json.RawMessage
		if err := rd.dec.Decode(&raw); err != nil {
			return rd.broken(at+"."+key, err, false)
		}
		if size += int64(len(raw) + len(key)); size > rd.opts.MaxMessage {
			rd.problem(at, ErrMessageTooLarge, "the members other than \"value\" are larger than %d bytes: reading stopped here", rd.opts.MaxMessage)
			return errStop
		}
		members[key] = raw
		if key == "@odata.context" {
			json.Unmarshal(raw, &rd.context) //nolint:errcheck // a context that is not a string names nothing
		}
	}
	if _, err := rd.dec.Token(); err != nil { // the closing }
		return rd.broken(at, err, false)
	}
	if sawValue {
		return nil
	}
	if _, ok := members["id"]; ok {
		raw, err := json.Marshal(members)
		if err != nil {
			return fmt.Errorf("re-encode %s: %w", at, err)
		}
		return rd.message(at, raw)
	}
	rd.problem(at, ErrNotChatMessages, "a JSON object without a \"value\" array: not a Graph list response nor a chatMessage")
	return nil
}

func (rd *reader) valueArray(at string) error {
	tok, err := rd.dec.Token()
	if err != nil {
		return rd.broken(at, err, false)
	}
	if tok == nil {
		return nil // "value": null
	}
	if tok != json.Delim('[') {
		rd.problem(at, ErrNotChatMessages, "\"value\" is a JSON %s, not an array of chatMessages", kind(tok))
		if tok == json.Delim('{') { // skip the object's members, bounded one by one
			return rd.skipObject(at)
		}
		return nil
	}
	return rd.array(at)
}

func (rd *reader) skipObject(at string) error {
	for rd.dec.More() {
		if _, err := rd.dec.Token(); err != nil {
			return rd.broken(at, err, false)
		}
		var raw json.RawMessage
		if err := rd.dec.Decode(&raw); err != nil {
			return rd.broken(at, err, false)
		}
	}
	_, err := rd.dec.Token()
	if err != nil {
		return rd.broken(at, err, false)
	}
	return nil
}

// decodeMessage checks that raw is a chatMessage and decodes it; a problem is returned as
// its sentinel and reason.
func decodeMessage(raw json.RawMessage) (m *chatMessage, sentinel error, reason string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, ErrNotChatMessages, fmt.Sprintf("a JSON %s, not a chatMessage object", jsonKind(raw))
	}
	m = new(chatMessage)
	if err := json.Unmarshal(raw, m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, ErrNotChatMessages, fmt.Sprintf("not a chatMessage: %s is a JSON %s, want %s", te.Field, te.Value, te.Type)
		}
		return nil, ErrNotChatMessages, fmt.Sprintf("not a chatMessage: %v", err)
	}
	if m.ID == "" {
		if m.CreatedDateTime == "" && m.MessageType == "" && m.Body == nil {
			return nil, ErrNotChatMessages, "an object without id, createdDateTime, messageType or body: not a chatMessage"
		}
		return nil, transcript.ErrInvalid, "a chatMessage without id"
	}
	return m, nil, ""
}

func jsonKind(raw []byte) string {
	switch {
	case len(raw) == 0:
		return "nothing"
	case raw[0] == '[':
		return "array"
	case raw[0] == '"':
		return "string"
	case raw[0] == 'n':
		return "null"
	case raw[0] == 't' || raw[0] == 'f':
		return "boolean"
	}
	return "number"
}

// isPage reports whether raw is a list response: an object with a "value" array.
func isPage(raw json.RawMessage) bool {
	var page struct {
		Value json.RawMessage `json:"value"`
	}
	return json.Unmarshal(raw, &page) == nil && len(page.Value) > 0 && page.Value[0] == '['
}

// nestedPage reads a list response that is an element of an array; it is in memory already,
// bounded by MaxMessage.
func (rd *reader) nestedPage(at string, raw json.RawMessage) error {
	outer := rd.dec
	defer func() { rd.dec = outer }()
	rd.dec = json.NewDecoder(bytes.NewReader(raw))
	rd.dec.UseNumber()
	if _, err := rd.dec.Token(); err != nil { // the {, checked by isPage
		return fmt.Errorf("re-read %s: %w", at, err)
	}
	return rd.object(at)
}
