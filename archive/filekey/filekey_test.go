package filekey

import (
	"strings"
	"testing"
)

const sum = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func TestBuild(t *testing.T) {
	tests := []struct {
		rel, want string
	}{
		{"report.pdf", "default/teams/" + sum + "/report.pdf"},
		{"a/b/Q3 report (final).pdf", "default/teams/" + sum + "/Q3_report_final_.pdf"},
		{"rapport-été.pdf", "default/teams/" + sum + "/rapport-_t_.pdf"},
		{"bad\xff\xfename.txt", "default/teams/" + sum + "/bad_name.txt"},
		{"line\nbreak.txt", "default/teams/" + sum + "/line_break.txt"},
		{"日本語", "default/teams/" + sum + "/_"},
		{"...", "default/teams/" + sum + "/file"},
	}
	for _, tt := range tests {
		got := Build("teams", sum, tt.rel)
		if got != tt.want {
			t.Errorf("Build(%q) = %q, want %q", tt.rel, got, tt.want)
		}
		if !Valid(got) {
			t.Errorf("Build(%q) = %q is not Valid", tt.rel, got)
		}
	}
}

func TestBuildLongNameKeepsExtension(t *testing.T) {
	got := SafeName(strings.Repeat("x", 300) + ".pdf")
	if len(got) != maxName || !strings.HasSuffix(got, ".pdf") {
		t.Fatalf("SafeName(long) = %q (len %d), want %d bytes ending .pdf", got, len(got), maxName)
	}
}

func TestDifferentContentDifferentKey(t *testing.T) {
	a := Build("w", strings.Repeat("a", 64), "x.txt")
	b := Build("w", strings.Repeat("b", 64), "x.txt")
	if a == b {
		t.Fatal("different hashes gave the same key")
	}
}

func TestValid(t *testing.T) {
	for _, k := range []string{"", "default/", "other/x", "default//x", "default/../x", "default/a b", "default/ü"} {
		if Valid(k) {
			t.Errorf("Valid(%q) = true", k)
		}
	}
}

func TestDisplayName(t *testing.T) {
	if got := DisplayName("dir/a\nb\xff.txt"); got != "a\uFFFDb\uFFFD.txt" {
		t.Fatalf("DisplayName = %q", got)
	}
	if got := DisplayName("dir/rapport-été.pdf"); got != "rapport-été.pdf" {
		t.Fatalf("DisplayName = %q", got)
	}
}

func TestExternalIsStableAndValid(t *testing.T) {
	a := External("teams", "https://files.example.com/big.zip", "big.zip")
	if a != External("teams", "https://files.example.com/big.zip", "big.zip") || !Valid(a) {
		t.Fatalf("External = %q", a)
	}
	if a == External("teams", "https://files.example.com/other.zip", "big.zip") {
		t.Fatal("different links share a placeholder key")
	}
}
