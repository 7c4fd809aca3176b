package cli

import (
	"os"
	"runtime/debug"
)

// tuneGC sets the collector for one build and returns what restores it. A build allocates about
// 1 MB per node (Butane and Ignition validate by reflection) while its live heap stays small
// (about 15 KB per node), so collecting at 4x the live heap rather than 2x saves collections at
// little cost in memory, and a soft limit keeps peak RSS bounded on large topologies. It is the
// command's business, not the build package's: it changes the whole process. GOGC or
// GOMEMLIMIT in the environment win.
func tuneGC() (restore func()) {
	percent, limit := -2, int64(-1)
	if os.Getenv("GOGC") == "" {
		percent = debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		limit = debug.SetMemoryLimit(192 << 20)
	}
	return func() {
		if percent != -2 {
			debug.SetGCPercent(percent)
		}
		if limit >= 0 {
			debug.SetMemoryLimit(limit)
		}
	}
}
