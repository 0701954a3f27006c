package teams

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/archivist-project/archivist/archive/identity"
	"github.com/archivist-project/archivist/archive/transcript"
)

// readAll reads data and returns every batch and Read's error.
func readAll(t testing.TB, data []byte, opts Options) ([]*Batch, error) {
	t.Helper()
	var batches []*Batch
	err := Read(context.Background(), bytes.NewReader(data), "dumps/x.teams.json", opts, func(b *Batch) error {
		batches = append(batches, b)
		return nil
	})
	return batches, err
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixtureDirectory(t testing.TB) *identity.Directory {
	t.Helper()
	d, err := identity.Parse("identities.csv", strings.NewReader("source,id,email,name\n"+
		"teams,8ea0e38b-efb3-4757-924a-5f94061cf8c2,robin.kline@contoso.example,Robin Kline\n"+
		"teams,9ee3dc1b-6a70-4582-8bc5-5dd35336b6c3,lee.gu@contoso.example,Lee Gu\n"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// line renders an event for comparisons.
func line(e transcript.Event) string {
	s := e.Time.Format("2006-01-02T15:04:05.000") + " " + e.Type + " " + e.From
	if len(e.Affected) > 0 {
		s += " affected=" + strings.Join(e.Affected, ",")
	}
	if e.Text != "" {
		s += " text=" + e.Text
	}
	if e.SystemText != "" {
		s += " sys=" + e.SystemText
	}
	for _, f := range e.Files {
		s += " file=" + f.Name + "[" + f.Href + "]"
	}
	return s
}

// problems splits Read's joined error into its *transcript.Errors.
func problems(t testing.TB, err error) []*transcript.Error {
	t.Helper()
	if err == nil {
		return nil
	}
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	var out []*transcript.Error
	for _, e := range list {
		var te *transcript.Error
		if !errors.As(e, &te) {
			t.Fatalf("problem %v is not a *transcript.Error", e)
		}
		out = append(out, te)
	}
	return out
}
