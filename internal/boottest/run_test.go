//go:build boottest

package boottest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// sh runs a shell command line and returns its combined output; it fails the test on error.
func sh(t testing.TB, format string, args ...any) string {
	t.Helper()
	out, err := shErr(format, args...)
	if err != nil {
		t.Fatalf("boottest: %s: %v\n%s", fmt.Sprintf(format, args...), err, out)
	}
	return out
}

func shErr(format string, args ...any) (string, error) {
	cmd := exec.Command("bash", "-c", "set -euo pipefail; "+fmt.Sprintf(format, args...))
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// logf prints a line with the time since the test started, as it happens.
var testStart = time.Now()

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(testStart).Seconds(), fmt.Sprintf(format, args...))
}

// waitFor polls cond every interval until it returns true or timeout passes.
func waitFor(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
}
