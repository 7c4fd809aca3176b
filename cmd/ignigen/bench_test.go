package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ignigen/ignigen/internal/cli"
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
// creates the secrets bundle and fills the build cache, which the others read; the 5-node
// cluster is also built with the cache off). It reports wall time, CPU time and the process's
// peak RSS.
func BenchmarkCommand(b *testing.B) {
	for _, bc := range []struct {
		n     int
		cache bool
	}{{5, true}, {5, false}, {1000, true}, {5000, true}} {
		name := fmt.Sprintf("nodes=%d", bc.n)
		if !bc.cache {
			name += ",cache=off"
		}
		b.Run(name, func(b *testing.B) {
			n := bc.n
			dir := b.TempDir()
			cacheDir := filepath.Join(dir, "cache")
			if !bc.cache {
				cacheDir = "off"
			}
			topo := filepath.Join(dir, "topology.yaml")
			if err := os.WriteFile(topo, testkit.SyntheticTopology(n), 0o644); err != nil {
				b.Fatal(err)
			}
			out := filepath.Join(dir, "out")
			run := func() (time.Duration, *syscall.Rusage) {
				cmd := exec.Command(os.Args[0], "--", "build", topo, "-o", out)
				cmd.Env = append(os.Environ(), runAsCommand+"=1", cli.CacheEnv+"="+cacheDir)
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
