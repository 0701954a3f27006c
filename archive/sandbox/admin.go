package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
)

// The sandbox's own routes, for `archivist sandbox ls`, tests and scripts. They never meet
// injected faults and need no credentials.
func (s *Server) adminRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/sandbox/files", handler: func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, s.Files())
		}},
		{method: http.MethodGet, path: "/sandbox/conversations", handler: func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, s.Conversations())
		}},
		{method: http.MethodGet, path: "/sandbox/stats", handler: func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, s.Stats())
		}},
		{method: http.MethodGet, path: "/sandbox/faults", handler: func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, s.Faults())
		}},
		{method: http.MethodPost, path: "/sandbox/faults", handler: s.postFaults},
	}
}

// postFaults replaces the injected faults with the JSON body, e.g.
// {"failRate": 0.2, "downFor": "30s"}; {} turns every fault off.
func (s *Server) postFaults(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "body: "+err.Error())
		return
	}
	var f Faults
	if err := json.Unmarshal(body, &f); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "faults: "+err.Error())
		return
	}
	s.SetFaults(f)
	s.log.WithField("faults", string(mustJSON(f))).Info("sandbox: faults changed")
	writeJSON(w, http.StatusOK, f)
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
