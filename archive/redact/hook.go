package redact

import (
	"fmt"

	"github.com/sirupsen/logrus"
)

// Hook masks the secrets of a Redactor in every log entry: its message and every text or
// error field. Add it to a logger with AddHook.
type Hook struct {
	// R is the redactor; nil means Default.
	R *Redactor
}

// Levels returns every level.
func (Hook) Levels() []logrus.Level { return logrus.AllLevels }

// Fire masks e in place (logrus hands each hook its own copy of the entry's fields).
func (h Hook) Fire(e *logrus.Entry) error {
	r := h.R
	if r == nil {
		r = Default
	}
	e.Message = r.String(e.Message)
	for k, v := range e.Data {
		switch v := v.(type) {
		case string:
			e.Data[k] = r.String(v)
		case error:
			if m := v.Error(); r.String(m) != m {
				e.Data[k] = r.String(m)
			}
		case fmt.Stringer:
			if m := v.String(); r.String(m) != m {
				e.Data[k] = r.String(m)
			}
		}
	}
	return nil
}
