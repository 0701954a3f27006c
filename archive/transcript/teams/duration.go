package teams

import (
	"strconv"
	"strings"
	"time"
)

// isoDuration renders an ISO 8601 duration ("PT1H2M3.5S", "P1DT2H") as Go does ("1h2m3.5s").
func isoDuration(s string) (string, bool) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return "", false
	}
	var total float64
	inTime := false
	for rest != "" {
		if rest[0] == 'T' {
			inTime, rest = true, rest[1:]
			continue
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 || i == len(rest) {
			return "", false
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return "", false
		}
		unit := map[string]float64{"D": 86400, "H": 3600, "M": 60, "S": 1}
		if !inTime {
			unit = map[string]float64{"W": 7 * 86400, "D": 86400}
		}
		f, ok := unit[string(rest[i])]
		if !ok {
			return "", false
		}
		total += n * f
		rest = rest[i+1:]
	}
	if total > 1e7 { // over 115 days: not a call
		return "", false
	}
	return (time.Duration(total * float64(time.Second))).Round(time.Millisecond).String(), true
}
