package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"
)

// Faults are injected into API requests (uploads and posts; the token endpoint too with
// TokenToo), decided at random per request. The zero value injects nothing. Rates are
// fractions in [0, 1], each drawn independently, checked in the order: down, reset, 429,
// failure, slow.
type Faults struct {
	FailRate   float64       // answered 500 or 503 (alternately)
	ResetRate  float64       // connection closed without an answer
	Rate429    float64       // answered 429 with Retry-After
	RetryAfter time.Duration // Retry-After of 429 answers, whole seconds; zero means 1s
	SlowRate   float64       // delayed by Slow before being handled
	Slow       time.Duration
	DownUntil  time.Time // every request answered 503 until then
	TokenToo   bool      // faults also hit the token endpoint
}

// injectFault answers r with a fault if one is drawn and reports whether it did. A slow
// request is only delayed; it reports false unless the client went away meanwhile.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request, scope faultScope) bool {
	s.mu.Lock()
	f := s.faults
	s.mu.Unlock()
	if scope == noFaults || (scope == tokenFaults && !f.TokenToo) {
		return false
	}
	log := s.log.WithFields(logrus.Fields{"method": r.Method, "path": r.URL.EscapedPath()})
	injected := func(what string) {
		s.count(func(st *Stats) { st.FaultsInjected++ })
		log.WithField("fault", what).Info("sandbox: fault injected")
	}
	now := time.Now()
	switch {
	case now.Before(f.DownUntil):
		injected("down")
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.DownUntil.Sub(now).Seconds()))))
		writeError(w, http.StatusServiceUnavailable, "unavailable", "sandbox: down (injected fault)")
		return true
	case draw(f.ResetRate):
		injected("reset")
		resetConnection(w)
		return true
	case draw(f.Rate429):
		injected("429")
		ra := f.RetryAfter
		if ra <= 0 {
			ra = time.Second
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ra.Seconds()))))
		writeError(w, http.StatusTooManyRequests, "too_many_requests", "sandbox: rate limited (injected fault)")
		return true
	case draw(f.FailRate):
		injected("5xx")
		s.mu.Lock()
		s.fails++
		status := http.StatusInternalServerError
		if s.fails%2 == 0 {
			status = http.StatusServiceUnavailable
		}
		s.mu.Unlock()
		writeError(w, status, "server_error", "sandbox: server error (injected fault)")
		return true
	case draw(f.SlowRate) && f.Slow > 0:
		injected("slow")
		t := time.NewTimer(f.Slow)
		defer t.Stop()
		select {
		case <-t.C:
			return false
		case <-r.Context().Done():
			return true
		}
	}
	return false
}

func draw(rate float64) bool {
	return rate > 0 && (rate >= 1 || rand.Float64() < rate)
}

// resetConnection closes the client's connection without an answer, with a TCP reset where
// possible.
func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // the server closes the connection without an answer
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// faultsJSON is Faults on the wire of POST /sandbox/faults, durations as strings ("1.5s").
// downFor is relative to the request: "down for the next 30s".
type faultsJSON struct {
	FailRate   float64   `json:"failRate"`
	ResetRate  float64   `json:"resetRate"`
	Rate429    float64   `json:"rate429"`
	RetryAfter string    `json:"retryAfter,omitempty"`
	SlowRate   float64   `json:"slowRate"`
	Slow       string    `json:"slow,omitempty"`
	DownUntil  time.Time `json:"downUntil,omitzero"`
	DownFor    string    `json:"downFor,omitempty"`
	TokenToo   bool      `json:"tokenToo"`
}

func (f Faults) toJSON() faultsJSON {
	j := faultsJSON{
		FailRate: f.FailRate, ResetRate: f.ResetRate, Rate429: f.Rate429, SlowRate: f.SlowRate,
		DownUntil: f.DownUntil, TokenToo: f.TokenToo,
	}
	if f.RetryAfter != 0 {
		j.RetryAfter = f.RetryAfter.String()
	}
	if f.Slow != 0 {
		j.Slow = f.Slow.String()
	}
	return j
}

func (j faultsJSON) toFaults(now time.Time) (Faults, error) {
	f := Faults{
		FailRate: j.FailRate, ResetRate: j.ResetRate, Rate429: j.Rate429, SlowRate: j.SlowRate,
		DownUntil: j.DownUntil, TokenToo: j.TokenToo,
	}
	for name, rate := range map[string]float64{"failRate": j.FailRate, "resetRate": j.ResetRate, "rate429": j.Rate429, "slowRate": j.SlowRate} {
		if rate < 0 || rate > 1 || math.IsNaN(rate) {
			return Faults{}, fmt.Errorf("%s: %v is not a fraction between 0 and 1", name, rate)
		}
	}
	var err error
	parse := func(name, s string) time.Duration {
		if s == "" || err != nil {
			return 0
		}
		d, perr := time.ParseDuration(s)
		if perr != nil || d < 0 {
			err = fmt.Errorf("%s: %q is not a duration like \"1.5s\"", name, s)
		}
		return d
	}
	f.RetryAfter = parse("retryAfter", j.RetryAfter)
	f.Slow = parse("slow", j.Slow)
	if d := parse("downFor", j.DownFor); d > 0 {
		f.DownUntil = now.Add(d)
	}
	return f, err
}

// MarshalJSON writes f as POST /sandbox/faults reads it.
func (f Faults) MarshalJSON() ([]byte, error) { return json.Marshal(f.toJSON()) }

// UnmarshalJSON reads f as POST /sandbox/faults sends it; unknown fields are an error.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	v, err := j.toFaults(time.Now())
	if err != nil {
		return err
	}
	*f = v
	return nil
}
