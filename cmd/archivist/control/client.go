package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/archivist-project/archivist/archive"
	"github.com/archivist-project/archivist/journal"
)

// Client calls a running daemon over its control socket.
type Client struct {
	hc      *http.Client
	socket  string
	timeout time.Duration
}

// NoAnswerError means the daemon took the connection but sent nothing for Timeout: it is
// stopped (SIGSTOP), hung, or not an archivist.
type NoAnswerError struct {
	Socket  string
	Timeout time.Duration
}

func (e *NoAnswerError) Error() string {
	return fmt.Sprintf("the daemon at %s does not answer (nothing within %s; is it stopped or hung?)", e.Socket, e.Timeout)
}

// Dial connects to the daemon's socket; an error means no daemon listens there. Every call
// then fails with a *NoAnswerError when the daemon sends nothing for timeout (a long call
// such as reconcile sends a heartbeat meanwhile).
func Dial(path string, timeout time.Duration) (*Client, error) {
	c, err := net.DialTimeout("unix", path, min(timeout, 2*time.Second))
	if err != nil {
		return nil, err
	}
	c.Close()
	return &Client{socket: path, timeout: timeout, hc: &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true, // no idle connection outlives its call
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			conn, err := d.DialContext(ctx, "unix", path)
			if err != nil {
				return nil, err
			}
			return &idleConn{Conn: conn, timeout: timeout}, nil
		},
	}}}, nil
}

// idleConn fails a read or write that makes no progress for timeout.
type idleConn struct {
	net.Conn
	timeout time.Duration
}

func (c *idleConn) Read(b []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *idleConn) Write(b []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// fail names what went wrong on the connection: a timeout is a *NoAnswerError.
func (c *Client) fail(err error) error {
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return &NoAnswerError{Socket: c.socket, Timeout: c.timeout}
	}
	return fmt.Errorf("control socket: %w", err)
}

func (c *Client) do(ctx context.Context, method, path string, body any, out any) error {
	resp, err := c.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return c.fail(err)
	}
	return nil
}

func (c *Client) request(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://archivist"+path, rd)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.fail(err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		var e struct{ Error string }
		json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&e)
		if e.Error == "" {
			e.Error = resp.Status
		}
		return nil, errors.New(e.Error)
	}
	return resp, nil
}

func (c *Client) Status(ctx context.Context) (*Status, error) {
	var s Status
	return &s, c.do(ctx, "GET", "/status", nil, &s)
}

func (c *Client) Unresolved(ctx context.Context) ([]journal.Unresolved, error) {
	var out []journal.Unresolved
	return out, c.do(ctx, "GET", "/unresolved", nil, &out)
}

func (c *Client) Queue(ctx context.Context, f Filter) ([]Item, error) {
	q := url.Values{}
	q.Set("state", string(f.State))
	q.Set("watch", f.Watch)
	q.Set("destination", f.Destination)
	q.Set("all", strconv.FormatBool(f.All))
	q.Set("limit", strconv.Itoa(f.Limit))
	var items []Item
	return items, c.do(ctx, "GET", "/queue?"+q.Encode(), nil, &items)
}

func (c *Client) Show(ctx context.Context, ref string) (*Detail, error) {
	var d Detail
	return &d, c.do(ctx, "GET", "/show?ref="+url.QueryEscape(ref), nil, &d)
}

func (c *Client) Retry(ctx context.Context, r RetryRequest) (*RetryResult, error) {
	var res RetryResult
	return &res, c.do(ctx, "POST", "/retry", r, &res)
}

// Reconcile waits for the summary, which the daemon sends after heartbeats while it works;
// an error then comes in the body. With verify, every archived file is re-hashed.
func (c *Client) Reconcile(ctx context.Context, verify bool) (*archive.Summary, error) {
	var res struct {
		archive.Summary
		Error string `json:"error"`
	}
	path := "/reconcile"
	if verify {
		path += "?verify=all"
	}
	if err := c.do(ctx, "POST", path, nil, &res); err != nil {
		return nil, err
	}
	if res.Error != "" {
		return nil, errors.New(res.Error)
	}
	return &res.Summary, nil
}

func (c *Client) Report(ctx context.Context, w io.Writer, q ReportQuery) error {
	v := url.Values{}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.Format(time.RFC3339Nano))
	}
	v.Set("format", q.Format)
	resp, err := c.request(ctx, "GET", "/report?"+v.Encode(), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err = io.Copy(w, resp.Body); err != nil {
		return c.fail(err)
	}
	return nil
}
