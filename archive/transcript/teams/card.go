package teams

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// cardKeys are the members whose strings a card shows: Adaptive Card TextBlocks and facts,
// hero and thumbnail cards, Office 365 connector cards.
var cardKeys = map[string]bool{"text": true, "title": true, "subtitle": true, "summary": true,
	"activityTitle": true, "activitySubtitle": true, "activityText": true, "value": true,
	"name": true, "fallbackText": true}

// cardText is the text a card shows, one string a line, in the card's order; a fact
// ({"title": ..., "value": ...}) is one line "title: value".
func cardText(a attachment) string {
	raw := contentJSON(a.Content)
	if raw == nil {
		return "[card: " + firstOf(a.Name, a.ContentType) + "]"
	}
	var lines []string
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := walkCard(dec, &lines, 0); err != nil && !errors.Is(err, io.EOF) {
		return "[card " + a.ContentType + " that is not valid JSON]"
	}
	if len(lines) == 0 {
		return "[card: " + firstOf(a.Name, a.ContentType) + "]"
	}
	return strings.Join(lines, "\n")
}

// walkCard reads one JSON value, appending the strings of cardKeys members.
func walkCard(dec *json.Decoder, lines *[]string, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('['):
		for dec.More() {
			if err := walkCard(dec, lines, depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	case json.Delim('{'):
		return walkCardObject(dec, lines, depth)
	}
	return nil
}

func walkCardObject(dec *json.Decoder, lines *[]string, depth int) error {
	label := -1 // index in lines of this object's title or name, for "title: value"
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if !cardKeys[key] || depth > 64 {
			if err := walkCard(dec, lines, depth+1); err != nil {
				return err
			}
			continue
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return err
		}
		s, ok := v.(string)
		if s = strings.TrimSpace(s); !ok || s == "" {
			continue
		}
		switch {
		case key == "value" && label >= 0:
			(*lines)[label] += ": " + s
			label = -1
		case key == "title" || key == "name":
			label = len(*lines)
			*lines = append(*lines, s)
		default:
			*lines = append(*lines, s)
		}
	}
	_, err := dec.Token()
	return err
}
