package salesforce

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/archivist-project/archivist/archive/failure"
)

// TokenError wraps any failure to obtain an access token: a network error, a non-2xx
// answer of the token URL (a *failure.HTTPError inside), or a reply without a token. It
// means the destination cannot authenticate at all, as opposed to "this request was
// refused".
type TokenError struct{ Err error }

func (e *TokenError) Error() string { return "get token: " + e.Err.Error() }
func (e *TokenError) Unwrap() error { return e.Err }

const (
	grantJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	// assertionLifetime is the assertion's exp: Salesforce wants a short one (3 minutes).
	assertionLifetime = 3 * time.Minute
	// tokenReuse is how long an access token is used before a new one is fetched. The JWT
	// bearer reply carries no lifetime (it follows the org's session settings); 30 minutes
	// keeps refetches rare, and a 401 or error code 10004 refetches earlier anyway.
	tokenReuse = 30 * time.Minute
	// maxTokenReply bounds how much of a token reply is read.
	maxTokenReply = 64 << 10
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

// tokenReply is what the token endpoint answers; only the token is used.
type tokenReply struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
}

// fetchToken runs the JWT bearer flow once.
func (c *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	tok, err := c.requestToken(ctx)
	if err != nil {
		return "", 0, &TokenError{Err: err}
	}
	return tok, tokenReuse, nil
}

func (c *Client) requestToken(ctx context.Context) (string, error) {
	assertion, err := signJWT(c.opts.PrivateKey, jwtClaims{
		Iss: c.opts.ClientID,
		Sub: c.opts.Username,
		Aud: c.opts.Audience,
		Exp: c.now().Add(assertionLifetime).Unix(),
	})
	if err != nil {
		return "", fmt.Errorf("sign assertion: %w", err)
	}
	form := url.Values{"grant_type": {grantJWTBearer}, "assertion": {assertion}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.opts.TokenURL, strings.NewReader(form))
	if err != nil {
		return "", fmt.Errorf("post token url: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	defer drainClose(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// {"error":"invalid_grant","error_description":"..."} never echoes the assertion.
		return "", failure.NewHTTPError("post "+redactedURL(c.opts.TokenURL), resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenReply))
	if err != nil {
		return "", fmt.Errorf("read token reply: %w", err)
	}
	var reply tokenReply
	if err := json.Unmarshal(body, &reply); err != nil {
		return "", errors.New("token reply is not the expected JSON object")
	}
	if reply.AccessToken == "" {
		return "", errors.New("token reply has no access_token")
	}
	if reply.TokenType != "" && !strings.EqualFold(reply.TokenType, "bearer") {
		return "", fmt.Errorf("token reply has token_type %q, want Bearer", reply.TokenType)
	}
	return reply.AccessToken, nil
}

// redactedURL drops any userinfo and query from u for use in an error message.
func redactedURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "token url"
	}
	p.User = nil
	p.RawQuery = ""
	p.Fragment = ""
	return p.String()
}
