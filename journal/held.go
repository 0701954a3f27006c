package journal

// Held is the one count of held files: the records in state held, each waiting for an
// operator (archivist retry or dismiss), whether or not its file is still on disk; what
// `archivist queue --state held` lists. status (and its JSON), the metrics'
// archivist_files{state="held"}, the status page, reconcile and run --once's exit status all
// count with it. A forward held at a destination is counted per destination, not here.
func (db *DB) Held() (int64, error) {
	counts, err := db.Counts()
	if err != nil {
		return 0, err
	}
	return counts[Held], nil
}
