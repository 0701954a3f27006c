package statuspage

import (
	"fmt"
	"html/template"
	"strings"

	"github.com/archivist-project/archivist/cmd/archivist/evidence"
)

// Chart geometry, in SVG user units; the SVG scales to the page's width.
const (
	chartW, chartH = 960.0, 220.0
	padLeft        = 56.0
	padBottom      = 28.0
	padTop         = 12.0
)

// chartSVG draws archived files (bars) and bytes (a line) per hour, server-side: no script,
// no external asset. It is an image with a title and a description for screen readers; the
// page also shows the figures as a table.
func chartSVG(hours []evidence.Hour) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" width="100%%" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">`, chartW, chartH)
	var maxFiles, maxBytes, files, bytes int64
	for _, h := range hours {
		maxFiles, maxBytes = max(maxFiles, h.Files), max(maxBytes, h.Bytes)
		files, bytes = files+h.Files, bytes+h.Bytes
	}
	fmt.Fprintf(&b, `<title id="chart-title">Archived files and bytes per hour</title><desc id="chart-desc">%d files, %s archived in %d hours; the busiest hour had %d files.</desc>`,
		files, humanBytes(bytes), len(hours), maxFiles)
	plotW, plotH := chartW-padLeft-8, chartH-padTop-padBottom
	fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.1f" height="%.1f" fill="#ffffff" stroke="#5a5a5a"/>`, padLeft, padTop, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="12" text-anchor="end" fill="#1a1a1a">%d</text>`, padLeft-4, padTop+10, maxFiles)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="12" text-anchor="end" fill="#1a1a1a">0</text>`, padLeft-4, padTop+plotH)
	if len(hours) == 0 {
		b.WriteString(`</svg>`)
		return template.HTML(b.String())
	}
	step := plotW / float64(len(hours))
	var line []string
	for i, h := range hours {
		x := padLeft + float64(i)*step
		if maxFiles > 0 && h.Files > 0 {
			bh := plotH * float64(h.Files) / float64(maxFiles)
			fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="#1f5fa8"><title>%s: %d files, %s</title></rect>`,
				x+step*0.1, padTop+plotH-bh, step*0.8, bh, h.Start.Format("2006-01-02 15:00"), h.Files, humanBytes(h.Bytes))
		}
		y := padTop + plotH
		if maxBytes > 0 {
			y -= plotH * float64(h.Bytes) / float64(maxBytes)
		}
		line = append(line, fmt.Sprintf("%.2f,%.2f", x+step/2, y))
		if h.Start.Hour() == 0 && (len(hours) <= 24*8 || h.Start.Day() == 1 || h.Start.Weekday() == 1) {
			fmt.Fprintf(&b, `<text x="%.2f" y="%.0f" font-size="12" fill="#1a1a1a">%s</text>`, x, chartH-8, h.Start.Format("Jan 2"))
		}
	}
	fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#a3460e" stroke-width="2"/>`, strings.Join(line, " "))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// humanBytes is n in B, kB, MB, GB (powers of 1000, as disks and networks count).
func humanBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
