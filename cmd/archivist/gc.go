package main

import (
	"runtime/debug"
)

// Garbage collector settings of the daemon, unless the operator's GOGC or GOMEMLIMIT says
// otherwise (the Go runtime reads those itself).
//
// With Go's default GOGC=100 the collector ran about twice as often as the daemon needed:
// a burst of small files allocates a few kilobytes per file (request, record, log entry) over
// a live heap of tens of megabytes (the watcher's view of the tree, the settle queue), so
// every cycle marked the whole live heap for little garbage. At 300 the daemon archived
// 10,000 small files about a quarter faster (docs/benchmarks.md) for about 10 MB more peak
// memory. The soft limit keeps that growth bounded: close to it, the collector works as
// hard as it must to stay under it, whatever GOGC says.
const (
	gcPercent   = 300
	memoryLimit = 256 << 20
)

// tuneGC applies the daemon's collector settings where getenv shows none of the operator's.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}
