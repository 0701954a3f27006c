package statuspage_test

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Basic accessibility of every page, checked on the HTML served: a language, one h1 and no
// skipped heading level, a label for every input, and text colours with a contrast of at
// least 4.5:1 (WCAG AA) against their backgrounds.
func TestAccessibility(t *testing.T) {
	f := newFixture(t, nil)
	for _, p := range []string{"/", "/held", "/search", "/search?q=pdf", fmt.Sprintf("/file/%d", f.archive.ID), "/reports", "/reports/2026-03-09"} {
		body := f.page(p)
		if !strings.Contains(body, `<html lang="en">`) {
			t.Errorf("%s: no language", p)
		}
		if n := strings.Count(body, "<h1"); n != 1 {
			t.Errorf("%s: %d h1 headings", p, n)
		}
		level := 1
		for _, m := range regexp.MustCompile(`<h([1-6])`).FindAllStringSubmatch(body, -1) {
			l, _ := strconv.Atoi(m[1])
			if l > level+1 {
				t.Errorf("%s: h%d follows h%d", p, l, level)
			}
			level = l
		}
		for _, m := range regexp.MustCompile(`<input[^>]*\bid="([^"]+)"`).FindAllStringSubmatch(body, -1) {
			if !strings.Contains(body, `<label for="`+m[1]+`"`) {
				t.Errorf("%s: input %q has no label", p, m[1])
			}
		}
		if n, m := strings.Count(body, "<input"), len(regexp.MustCompile(`<input[^>]*\bid=`).FindAllString(body, -1)); n != m {
			t.Errorf("%s: %d inputs, %d with an id a label can name", p, n, m)
		}
		checkContrast(t, p, body)
	}
}

var (
	ruleRE  = regexp.MustCompile(`([^{}]+)\{([^}]*)\}`)
	colorRE = regexp.MustCompile(`(?:^|;)\s*color:\s*(#[0-9a-fA-F]{6})`)
	bgRE    = regexp.MustCompile(`background:\s*(#[0-9a-fA-F]{6})`)
)

func checkContrast(t *testing.T, page, body string) {
	t.Helper()
	style := body[strings.Index(body, "<style>")+len("<style>") : strings.Index(body, "</style>")]
	bodyFG, bodyBG := "", ""
	pairs := map[string][2]string{}
	bgs := map[string]string{} // selector -> its background, for the text of its descendants
	var fgOnly []string
	for _, m := range ruleRE.FindAllStringSubmatch(style, -1) {
		sel, decl := strings.TrimSpace(m[1]), m[2]
		fg, bg := colorRE.FindStringSubmatch(decl), bgRE.FindStringSubmatch(decl)
		if bg != nil {
			bgs[sel] = bg[1]
		}
		switch {
		case sel == "body":
			bodyFG, bodyBG = fg[1], bg[1]
		case fg != nil && bg != nil:
			pairs[sel] = [2]string{fg[1], bg[1]}
		case fg != nil:
			fgOnly = append(fgOnly, sel+"="+fg[1])
		}
	}
	pairs["body"] = [2]string{bodyFG, bodyBG}
	for _, s := range fgOnly { // text without its own background sits on the page or a white table
		sel, fg, _ := strings.Cut(s, "=")
		if ancestor, _, ok := strings.Cut(sel, " "); ok && bgs[ancestor] != "" {
			pairs[sel] = [2]string{fg, bgs[ancestor]}
			continue
		}
		pairs[sel+" on the page"] = [2]string{fg, bodyBG}
		pairs[sel+" on white"] = [2]string{fg, "#ffffff"}
	}
	for sel, c := range pairs {
		if r := contrast(c[0], c[1]); r < 4.5 {
			t.Errorf("%s: %s: %s on %s has contrast %.2f, want at least 4.5", page, sel, c[0], c[1], r)
		}
	}
	if len(pairs) < 5 {
		t.Errorf("%s: found only %d colour pairs in the stylesheet", page, len(pairs))
	}
}

// contrast is the WCAG 2 contrast ratio of two sRGB colours "#rrggbb".
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

func luminance(hex string) float64 {
	v, _ := strconv.ParseUint(hex[1:], 16, 32)
	ch := func(shift uint) float64 {
		c := float64((v>>shift)&0xff) / 255
		if c <= 0.03928 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(16) + 0.7152*ch(8) + 0.0722*ch(0)
}

func TestContrastFormula(t *testing.T) {
	if r := contrast("#000000", "#ffffff"); math.Abs(r-21) > 0.01 {
		t.Errorf("black on white: %.2f", r)
	}
	if r := contrast("#777777", "#ffffff"); r > 4.5 {
		t.Errorf("#777 on white: %.2f, known to fail AA", r)
	}
}
