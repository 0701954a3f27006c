package talkdesk

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/archivist-project/archivist/archive/oauth"
)

// TokenError wraps any failure to obtain a token (see package oauth).
type TokenError = oauth.TokenError

// fetchToken gets a client-credentials token with both steps' scopes.
func (c *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	tok, lifetime, err := oauth.FetchToken(ctx, c.http, oauth.Request{
		URL:             c.opts.TokenURL,
		Form:            url.Values{"grant_type": {"client_credentials"}, "scope": {tokenScope}},
		Authorization:   "Basic " + basicAuth(c.opts.ClientID, c.opts.ClientSecret),
		Secret:          c.opts.ClientSecret,
		UserAgent:       userAgent,
		DefaultLifetime: defaultTokenLifetime,
	})
	return tok, oauth.RenewAhead(lifetime), err
}

// basicAuth is the Basic credential of RFC 7617 (as http.Request.SetBasicAuth builds it).
func basicAuth(user, pass string) string {
	r := &http.Request{Header: http.Header{}}
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")[len("Basic "):]
}
