package salesforce

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/archivist-project/archivist/archive/oauth"
)

// TokenError wraps any failure to obtain an access token (see package oauth).
type TokenError = oauth.TokenError

const (
	grantJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	// assertionLifetime is the assertion's exp: Salesforce wants a short one (3 minutes).
	assertionLifetime = 3 * time.Minute
	// tokenReuse is how long an access token is used before a new one is fetched. The JWT
	// bearer reply carries no lifetime (it follows the org's session settings); 30 minutes
	// keeps refetches rare, and a 401 or error code 10004 refetches earlier anyway.
	tokenReuse = 30 * time.Minute
)

// signJWT returns the compact RS256 JWS of claims (RFC 7515, 7519).
func signJWT(key *rsa.PrivateKey, claims any) (string, error) {
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := header + "." + base64.RawURLEncoding.EncodeToString(body)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// jwtClaims are the claims of the bearer assertion.
type jwtClaims struct {
	Iss string `json:"iss"` // the connected app's consumer key
	Sub string `json:"sub"` // the user the token is for
	Aud string `json:"aud"` // the login host, e.g. https://login.salesforce.com
	Exp int64  `json:"exp"` // epoch seconds
}

// fetchToken runs the JWT bearer flow once.
func (c *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	assertion, err := signJWT(c.opts.PrivateKey, jwtClaims{
		Iss: c.opts.ClientID,
		Sub: c.opts.Username,
		Aud: c.opts.Audience,
		Exp: c.now().Add(assertionLifetime).Unix(),
	})
	if err != nil {
		return "", 0, &TokenError{Err: fmt.Errorf("sign assertion: %w", err)}
	}
	// The reply carries no lifetime (it follows the org's session settings): reuse the token
	// for tokenReuse; a 401 or error code 10004 refetches earlier anyway.
	tok, _, err := oauth.FetchToken(ctx, c.http, oauth.Request{
		URL:       c.opts.TokenURL,
		Form:      url.Values{"grant_type": {grantJWTBearer}, "assertion": {assertion}},
		UserAgent: userAgent,
	})
	return tok, tokenReuse, err
}

// redactedURL drops any userinfo and query from u for use in an error message.
func redactedURL(u string) string { return oauth.RedactURL(u) }
