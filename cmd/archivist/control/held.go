package control

import "github.com/archivist-project/archivist/journal"

// Counter is what Held needs of the journal.
type Counter interface {
	Counts() (map[journal.State]int64, error)
}

// Held is the one count of held files: the records in state held, waiting for an operator
// (retry or dismiss), which is what `queue --state held` and the status page's held list show.
// status (and its JSON), the metrics' archivist_files{state="held"} and run --once's exit
// status all count with it. A held forward is counted per destination, not here.
func Held(j Counter) (int64, error) {
	counts, err := j.Counts()
	if err != nil {
		return 0, err
	}
	return counts[journal.Held], nil
}
