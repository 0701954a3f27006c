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
	"strconv"
	"time"

	"github.com/archivist-project/archivist/archive"
)

// Client calls a running daemon over its control socket.
type Client struct {
	hc *http.Client
}

// Dial connects to the daemon's socket; an error means no daemon answers there.
func Dial(path string) (*Client, error) {
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return nil, err
	}
	c.Close()
	return &Client{hc: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}}, nil
}

func (c *Client) do(ctx context.Context, method, path string, body any, out any) error {
	resp, err := c.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
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
		return nil, fmt.Errorf("control socket: %w", err)
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

func (c *Client) Reconcile(ctx context.Context, verify bool) (*archive.Summary, error) {
	var s archive.Summary
	path := "/reconcile"
	if verify {
		path += "?verify=all"
	}
	return &s, c.do(ctx, "POST", path, nil, &s)
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
	_, err = io.Copy(w, resp.Body)
	return err
}
