package transcript

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// docs/transcript-format.md shows the schema file verbatim and an example that parses to the
// same conversation as testdata's; keep them from drifting apart.
func TestDocsMatchTheCode(t *testing.T) {
	md, err := os.ReadFile("../../docs/transcript-format.md")
	if err != nil {
		t.Fatal(err)
	}
	schema, err := os.ReadFile("../../docs/transcript.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "```json\n"+string(schema)+"```\n") {
		t.Error("docs/transcript-format.md does not show docs/transcript.schema.json verbatim")
	}
	_, rest, ok := strings.Cut(string(md), "### Example\n\n```json\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no example in docs/transcript-format.md")
	}
	got, err := Native{}.Parse("exports/c1.transcript.json", []byte(example))
	if err != nil {
		t.Fatalf("the documented example does not parse: %v", err)
	}
	want, err := Native{}.Parse("exports/c1.transcript.json", readTestdata(t, "native/valid/example.transcript.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Error("the documented example differs from testdata/native/valid/example.transcript.json")
	}
	if !strings.Contains(string(md), "at most 16 MiB") || MaxTranscriptSize != 16<<20 {
		t.Error("docs/transcript-format.md and MaxTranscriptSize disagree")
	}
}
