package filekey

import "testing"

// BenchmarkBuild builds the key of a typical nested export file.
func BenchmarkBuild(b *testing.B) {
	const sum = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	for b.Loop() {
		_ = Build("teams", sum, "exports/2024-06/Q2 board minutes (final).pdf")
	}
}

// BenchmarkSafeNameUnicode is the worst common case: a long name of mostly non-ASCII runes.
func BenchmarkSafeNameUnicode(b *testing.B) {
	name := "Протокол заседания совета директоров — итоговая версия ünïcødé 議事録 2024.docx"
	for b.Loop() {
		_ = SafeName(name)
	}
}

// BenchmarkDisplayName is the event's "filename" for the same kind of name.
func BenchmarkDisplayName(b *testing.B) {
	for b.Loop() {
		_ = DisplayName("exports/2024-06/Протокол заседания ünïcødé 議事録.docx")
	}
}
