package slack

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/archivist-project/archivist/archive/transcript"
)

// Kind is the kind of a conversation, by the list that names it.
type Kind string

const (
	KindChannel Kind = "channel" // channels.json: a public channel
	KindPrivate Kind = "private" // groups.json: a private channel
	KindGroupDM Kind = "mpim"    // mpims.json: a group DM
	KindDM      Kind = "dm"      // dms.json: a DM
)

// Conversation is one channel, private channel, group DM or DM of the export.
type Conversation struct {
	ID      string   // Slack's id: C..., G..., D...
	Name    string   // the channel's name; "" for DMs
	Kind    Kind     //
	Members []string // user ids, as the list states them
	// Key identifies the conversation across exports: "<workspace>/<id>". It is the
	// transcript.Conversation.ID of its days.
	Key   string
	Title string // "#general", "Direct message: Lisa Holmes, Jordan Davies", ...

	folder string // its folder in the export: the name, or for DMs the id
}

// user is what is kept of a users.json entry.
type user struct {
	ID      string `json:"id"`
	TeamID  string `json:"team_id"`
	Name    string `json:"name"`
	Real    string `json:"real_name"`
	Deleted bool   `json:"deleted"`
	IsBot   bool   `json:"is_bot"`
	Profile struct {
		RealName    string `json:"real_name"`
		DisplayName string `json:"display_name"`
		Email       string `json:"email"`
		BotID       string `json:"bot_id"`
	} `json:"profile"`
}

// displayName is the name shown for the user: the real name, as mentions show it.
func (u *user) displayName() string {
	for _, n := range []string{u.Profile.RealName, u.Real, u.Profile.DisplayName, u.Name} {
		if n = strings.TrimSpace(n); n != "" {
			return n
		}
	}
	return u.ID
}

type channel struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Members   []string `json:"members"`
	IsIM      bool     `json:"is_im"`
	IsMPIM    bool     `json:"is_mpim"`
	IsPrivate bool     `json:"is_private"`
}

// kind is the conversation's kind: the list's, unless the entry's flags say more (exporters
// such as slackdump may list private channels and group DMs in channels.json).
func (ch *channel) kind(list Kind) Kind {
	switch {
	case ch.IsIM:
		return KindDM
	case ch.IsMPIM:
		return KindGroupDM
	case ch.IsPrivate && list == KindChannel:
		return KindPrivate
	}
	return list
}

func (x *Export) readLists(lists map[string]*zip.File) error {
	teams := map[string]int{}
	for _, name := range []string{"users.json", "org_users.json"} {
		if f := lists[name]; f != nil {
			err := decodeArray(x, f, x.limits.MaxList, func(u *user) error {
				if u.ID == "" {
					return errors.New("a user without id")
				}
				if x.users[u.ID] == nil { // users.json wins over org_users.json
					x.users[u.ID] = u
					if name == "users.json" && u.TeamID != "" {
						teams[u.TeamID]++
					}
				}
				if u.Profile.BotID != "" && x.bots[u.Profile.BotID] == nil {
					x.bots[u.Profile.BotID] = u
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
	}
	x.teams = teams
	return x.readConversations(lists)
}

func (x *Export) readConversations(lists map[string]*zip.File) error {
	folders := map[string]string{}
	for _, l := range []struct {
		file string
		kind Kind
	}{{"channels.json", KindChannel}, {"groups.json", KindPrivate}, {"mpims.json", KindGroupDM}, {"dms.json", KindDM}} {
		f := lists[l.file]
		if f == nil {
			continue
		}
		err := decodeArray(x, f, x.limits.MaxList, func(ch *channel) error {
			members := make([]string, len(ch.Members))
			for i, m := range ch.Members {
				members[i] = scrub(m)
			}
			c := &Conversation{ID: scrub(ch.ID), Name: scrub(ch.Name), folder: ch.Name, Kind: ch.kind(l.kind), Members: members}
			if c.Kind == KindDM {
				c.folder, c.Name = ch.ID, ""
			}
			if c.ID == "" || c.folder == "" || strings.ContainsAny(c.folder, "/\\\x00") || c.folder == "." || c.folder == ".." {
				return fmt.Errorf("a conversation without a usable id or name (id %q, name %q)", ch.ID, ch.Name)
			}
			if prev, dup := folders[c.folder]; dup {
				return fmt.Errorf("folder %q is named twice (also in %s)", c.folder, prev)
			}
			folders[c.folder] = l.file
			x.channels[c.ID] = ch.Name
			x.convs = append(x.convs, c)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// decodeArray streams the JSON array of entry f, calling add for each element.
func decodeArray[T any](x *Export, f *zip.File, limit int64, add func(*T) error) error {
	rc, err := x.zip().Open(f, limit)
	if err != nil {
		return err
	}
	defer rc.Close()
	br := bufio.NewReader(rc)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		br.Discard(3) //nolint:errcheck // Peek just saw these bytes
	}
	dec := json.NewDecoder(br)
	fail := func(i int, err error) error {
		var e *Error
		if errors.As(err, &e) {
			return e // a read error: already names the entry
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		at := ""
		if i >= 0 {
			at = fmt.Sprintf("$[%d]: ", i)
		}
		return x.errorf(f.Name, transcript.ErrInvalid, "%s%v", at, err)
	}
	if tok, err := dec.Token(); err != nil {
		return fail(-1, err)
	} else if tok != json.Delim('[') {
		return fail(-1, errors.New("not a JSON array"))
	}
	for i := 0; dec.More(); i++ {
		v := new(T)
		if err := dec.Decode(v); err != nil {
			return fail(i, err)
		}
		if err := add(v); err != nil {
			return fail(i, err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return fail(-1, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fail(-1, errors.New("data after the JSON array"))
	}
	return nil
}

// majorityTeam is the team_id most users.json users have (ties: the smallest), so that a
// few users from other workspaces (shared channels) do not change it.
func (x *Export) majorityTeam() string {
	best, n := "", 0
	for _, t := range slices.Sorted(maps.Keys(x.teams)) {
		if x.teams[t] > n {
			best, n = t, x.teams[t]
		}
	}
	return best
}
