package globalrelay

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/archivist-project/archivist/archive/oauth"
)

// TokenError wraps any failure to obtain a token (see package oauth). It means the
// destination cannot authenticate at all, as opposed to "this request was refused".
type TokenError = oauth.TokenError

const (
	// tokenScope is what Global Relay's example asks for.
	tokenScope = "openid conversation file write"
	// defaultTokenLifetime is assumed when the reply has no usable expires_in.
	defaultTokenLifetime = 5 * time.Minute
)

// newTokenCache returns the cache of Global Relay's client-credentials token. The credential
// string is sent exactly as Global Relay issued it: it already is the Basic credential.
func newTokenCache(tokenURL, credentials string, hc *http.Client) *oauth.Cache {
	req := oauth.Request{
		URL:             tokenURL,
		Form:            url.Values{"grant_type": {"client_credentials"}, "scope": {tokenScope}},
		Authorization:   "Basic " + credentials,
		Secret:          credentials,
		UserAgent:       userAgent,
		DefaultLifetime: defaultTokenLifetime,
	}
	return oauth.New(func(ctx context.Context) (string, time.Duration, error) {
		tok, lifetime, err := oauth.FetchToken(ctx, hc, req)
		return tok, oauth.RenewAhead(lifetime), err
	})
}

// redactedURL drops any userinfo and query from u for use in an error message.
func redactedURL(u string) string { return oauth.RedactURL(u) }
