package watcher

import "sync/atomic"

// Budget bounds the bytes of small files held in memory from their read while they settle
// (Identity.Data) to their upload, across the watcher and its consumer: whoever holds Data
// took its length from the Budget and gives it back when it lets go. The watcher holds the
// Data of a pending file until Settled accepts it; from then on Settled's side does (for
// every file of an accepted batch, whether it keeps the bytes or not). Safe for concurrent
// use; a nil *Budget has no room.
type Budget struct {
	max  int64
	used atomic.Int64
}

// NewBudget returns a budget of max bytes.
func NewBudget(max int64) *Budget { return &Budget{max: max} }

// Room reports whether n more bytes fit now.
func (b *Budget) Room(n int64) bool { return b != nil && b.used.Load()+n <= b.max }

// Take takes n bytes if they fit, and reports whether it did.
func (b *Budget) Take(n int64) bool {
	if b == nil {
		return false
	}
	for {
		used := b.used.Load()
		if used+n > b.max {
			return false
		}
		if b.used.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// Give gives back n bytes taken before.
func (b *Budget) Give(n int64) {
	if b != nil && n != 0 {
		b.used.Add(-n)
	}
}

// Used is how many bytes are taken now.
func (b *Budget) Used() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}
