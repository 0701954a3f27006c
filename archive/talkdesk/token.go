package talkdesk

import (
	"context"
	"net/url"
	"time"

	"github.com/archivist-project/archivist/archive/oauth"
	"github.com/archivist-project/archivist/archive/remote"
)

// TokenError wraps any failure to obtain a token (see package oauth).
type TokenError = oauth.TokenError

// fetchToken gets a client-credentials token with both steps' scopes.
func (c *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	tok, lifetime, err := oauth.FetchToken(ctx, c.http, oauth.Request{
		URL:             c.opts.TokenURL,
		Form:            url.Values{"grant_type": {"client_credentials"}, "scope": {tokenScope}},
		Authorization:   "Basic " + remote.BasicCredential(c.opts.ClientID, c.opts.ClientSecret),
		Secret:          c.opts.ClientSecret,
		UserAgent:       remote.UserAgent,
		DefaultLifetime: defaultTokenLifetime,
	})
	return tok, oauth.RenewAhead(lifetime), err
}
