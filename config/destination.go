package config

import (
	"crypto/rsa"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Destination types.
const (
	DestinationSalesforce = "salesforce"
	DestinationGenesys    = "genesys"
	DestinationTalkdesk   = "talkdesk"
)

// Destination is one place watches forward files to. Type says which API it is; each type
// requires some keys, allows some more, and rejects the keys of the other types:
//
//	salesforce: url, token_url, client_id, username, private_key_file, audience, org_id,
//	            authorization_context, channel_address required; end_user, delivery_failed
//	genesys:    url, username, password_file required; chat_id
//	talkdesk:   url, token_url, client_id, client_secret_file required
//
// Files named here are read at load time; relative paths resolve against the config dir.
type Destination struct {
	Type string `yaml:"type"` // required: salesforce | genesys | talkdesk

	URL      string `yaml:"url"`       // absolute http(s) URL; trailing "/" trimmed
	TokenURL string `yaml:"token_url"` // absolute http(s) URL (salesforce, talkdesk)
	ClientID string `yaml:"client_id"` // salesforce consumer key, talkdesk client id
	Username string `yaml:"username"`  // salesforce user (JWT sub), genesys Basic user

	// Salesforce.
	PrivateKeyFile       string `yaml:"private_key_file"`      // PEM RSA key, PKCS#1 or PKCS#8; parsed at load time
	Audience             string `yaml:"audience"`              // https://login.salesforce.com or https://test.salesforce.com
	OrgID                string `yaml:"org_id"`                // 15 or 18 characters
	AuthorizationContext string `yaml:"authorization_context"` // {prefix}_{ChannelDefinitionName}
	ChannelAddress       string `yaml:"channel_address"`       // at most 240 characters
	EndUser              string `yaml:"end_user"`              // default end user client id; optional
	DeliveryFailed       bool   `yaml:"delivery_failed"`       // default false: send MessageDeliveryFailed after a permanent failure

	// Genesys.
	PasswordFile string `yaml:"password_file"` // read at load time
	ChatID       string `yaml:"chat_id"`       // default chat; optional

	// Talkdesk.
	ClientSecretFile string `yaml:"client_secret_file"` // read at load time

	// Loaded from the files above by Validate.
	PrivateKey   *rsa.PrivateKey `yaml:"-"`
	Password     Secret          `yaml:"-"`
	ClientSecret Secret          `yaml:"-"`

	// keys are the keys the file set, as the decoder met them.
	keys []string
}

func (d *Destination) sawKey(name string) { d.keys = append(d.keys, name) }

// destinationKeys lists, per type, the keys it requires and the keys it also allows.
var destinationKeys = map[string]struct{ required, optional []string }{
	DestinationSalesforce: {
		required: []string{"url", "token_url", "client_id", "username", "private_key_file", "audience", "org_id", "authorization_context", "channel_address"},
		optional: []string{"end_user", "delivery_failed"},
	},
	DestinationGenesys: {
		required: []string{"url", "username", "password_file"},
		optional: []string{"chat_id"},
	},
	DestinationTalkdesk: {
		required: []string{"url", "token_url", "client_id", "client_secret_file"},
	},
}

var destinationNameRE = regexp.MustCompile(`^[a-z0-9-]+$`)

// maxDestinationNameLen bounds a destination name, as for watches.
const maxDestinationNameLen = 64

func (d *Destination) resolve(dir string) {
	d.URL = strings.TrimRight(d.URL, "/")
	d.PrivateKeyFile = resolvePath(dir, d.PrivateKeyFile)
	d.PasswordFile = resolvePath(dir, d.PasswordFile)
	d.ClientSecretFile = resolvePath(dir, d.ClientSecretFile)
}

// DestinationNames returns the names of c.Destinations, sorted.
func (c *Config) DestinationNames() []string {
	names := make([]string, 0, len(c.Destinations))
	for n := range c.Destinations {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (c *Config) validateDestinations(p *problems) {
	for _, name := range c.DestinationNames() {
		key := mapKey("destinations", name)
		switch {
		case !destinationNameRE.MatchString(name):
			p.add(key, "destination name %q must match [a-z0-9-]+", name)
		case len(name) > maxDestinationNameLen:
			p.add(key, "destination name %q is longer than %d characters", name, maxDestinationNameLen)
		}
		d := c.Destinations[name]
		d.validate(p, key)
		c.Destinations[name] = d
	}
}

func (d *Destination) validate(p *problems, key string) {
	spec, ok := destinationKeys[d.Type]
	if !ok {
		kinds := make([]string, 0, len(destinationKeys))
		for k := range destinationKeys {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		if d.Type == "" {
			p.add(key+".type", "required: one of %s", strings.Join(kinds, ", "))
		} else {
			p.add(key+".type", "%q must be one of %s", d.Type, strings.Join(kinds, ", "))
		}
		return
	}
	for _, k := range d.keys {
		if k != "type" && !slices.Contains(spec.required, k) && !slices.Contains(spec.optional, k) {
			p.add(key+"."+k, "not a key of a %s destination", d.Type)
		}
	}
	d.checkRequired(p, key, spec.required)
	switch d.Type {
	case DestinationSalesforce:
		d.checkSalesforce(p, key)
	case DestinationGenesys:
		if strings.Contains(d.Username, ":") {
			p.add(key+".username", "must not contain \":\" (Basic authentication)")
		}
		if d.ChatID != "" && !ValidChatID(d.ChatID) {
			p.add(key+".chat_id", "%q must be letters, digits, \"-\" and \"_\"", d.ChatID)
		}
	case DestinationTalkdesk:
		if strings.Contains(d.ClientID, ":") {
			p.add(key+".client_id", "must not contain \":\" (Basic authentication)")
		}
	}
}

// checkRequired checks the keys a destination of its type requires: URLs, the files of its
// key and secrets (read here), and a non-empty value for the others.
func (d *Destination) checkRequired(p *problems, key string, required []string) {
	values := map[string]string{
		"url": d.URL, "token_url": d.TokenURL, "client_id": d.ClientID, "username": d.Username,
		"private_key_file": d.PrivateKeyFile, "audience": d.Audience, "org_id": d.OrgID,
		"authorization_context": d.AuthorizationContext, "channel_address": d.ChannelAddress,
		"password_file": d.PasswordFile, "client_secret_file": d.ClientSecretFile,
	}
	for _, k := range required {
		switch k {
		case "url":
			checkURL(p, key+".url", d.URL, true)
		case "token_url":
			checkURL(p, key+".token_url", d.TokenURL, false)
		case "private_key_file":
			d.loadPrivateKey(p, key+".private_key_file")
		case "password_file":
			if s, ok := readSecretFile(p, key+".password_file", d.PasswordFile); ok {
				d.Password = Secret(s)
			}
		case "client_secret_file":
			if s, ok := readSecretFile(p, key+".client_secret_file", d.ClientSecretFile); ok {
				d.ClientSecret = Secret(s)
			}
		default:
			if strings.TrimSpace(values[k]) == "" {
				p.add(key+"."+k, "required")
			}
		}
	}
}

// checkSalesforce checks the forms of a Salesforce destination's org id, authorization
// context, channel address and end user.
func (d *Destination) checkSalesforce(p *problems, key string) {
	if d.OrgID != "" && !ValidOrgID(d.OrgID) {
		p.add(key+".org_id", "%q must be 15 or 18 letters and digits", d.OrgID)
	}
	if d.AuthorizationContext != "" {
		if pre, name, _ := strings.Cut(d.AuthorizationContext, "_"); pre == "" || name == "" {
			p.add(key+".authorization_context", "%q must be {prefix}_{ChannelDefinitionName}", d.AuthorizationContext)
		}
	}
	if len(d.ChannelAddress) > 240 {
		p.add(key+".channel_address", "longer than 240 characters")
	}
	if len(d.EndUser) > 255 {
		p.add(key+".end_user", "longer than 255 characters")
	}
}

// ValidChatID reports whether id is a Genesys (GWS) interaction id: 1 to 128 letters,
// digits, "-" and "_", which need no escaping in a URL path.
func ValidChatID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// loadPrivateKey reads and parses the Salesforce private key file into d.PrivateKey.
func (d *Destination) loadPrivateKey(p *problems, key string) {
	b, ok := readPrivateFile(p, key, d.PrivateKeyFile)
	if !ok {
		return
	}
	k, err := ParsePrivateKey(b)
	if err != nil {
		p.add(key, "%q: %v", d.PrivateKeyFile, err)
		return
	}
	d.PrivateKey = k
}

// validateForward checks a watch's forward list against the destinations.
func (c *Config) validateForward(p *problems, key string, w *Watch) {
	seen := make(map[string]int)
	for i, name := range w.Forward {
		k := fmt.Sprintf("%s.forward[%d]", key, i)
		if j, dup := seen[name]; dup {
			p.add(k, "%q is listed twice (also forward[%d])", name, j)
			continue
		}
		seen[name] = i
		if _, ok := c.Destinations[name]; !ok {
			if len(c.Destinations) == 0 {
				p.add(k, "%q is not a destination: no destinations are configured", name)
			} else {
				p.add(k, "%q is not a destination; known: %s", name, strings.Join(c.DestinationNames(), ", "))
			}
		}
	}
}
