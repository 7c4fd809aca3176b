package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ignigen/ignigen/internal/testkit"
)

// runAsCommand makes this test binary act as ignigen when re-executed by BenchmarkCommand, so the
// benchmark measures a whole process (start, build, durable write) without a separate go build.
const runAsCommand = "IGNIGEN_BENCH_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runAsCommand) == "1" {
		os.Args = append(os.Args[:1], os.Args[2:]...) // drop the "--" separator
		main()
	}
	os.Exit(m.Run())
}

// BenchmarkCommand runs `ignigen build` as its own process, as a user does: each iteration
// replaces the output directory of the previous one (the steady state; the first build also
// creates the secrets bundle). It reports wall time, CPU time and the process's peak RSS.
func BenchmarkCommand(b *testing.B) {
	for _, n := range []int{5, 1000, 5000} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			topo := filepath.Join(dir, "topology.yaml")
			if err := os.WriteFile(topo, testkit.SyntheticTopology(n), 0o644); err != nil {
				b.Fatal(err)
			}
			out := filepath.Join(dir, "out")
			run := func() (time.Duration, *syscall.Rusage) {
				cmd := exec.Command(os.Args[0], "--", "build", topo, "-o", out)
				cmd.Env = append(os.Environ(), runAsCommand+"=1")
				start := time.Now()
				if msg, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("ignigen build: %v\n%s", err, msg)
				}
				return time.Since(start), cmd.ProcessState.SysUsage().(*syscall.Rusage)
			}
			run() // creates the bundle, which later builds reuse
			var wall, cpu time.Duration
			var maxRSS int64
			b.ResetTimer()
			for range b.N {
				w, ru := run()
				wall += w
				cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
				maxRSS = max(maxRSS, ru.Maxrss) // KiB on Linux
			}
			b.ReportMetric(float64(wall.Milliseconds())/float64(b.N), "ms-wall/op")
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "ms-cpu/op")
			b.ReportMetric(float64(maxRSS)/1024, "MiB-peak-rss")
			b.ReportMetric(0, "ns/op") // the process's figures above are what counts
		})
	}
}
