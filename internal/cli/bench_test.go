package cli

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ignigen/ignigen/internal/topology"
)

// BenchmarkRunBuild is `ignigen build` of the example topology in-process (no process start):
// run it with -cpuprofile to see where a small build's time goes.
func BenchmarkRunBuild(b *testing.B) {
	dir := b.TempDir()
	topo := filepath.Join(dir, "topology.yaml")
	if err := os.WriteFile(topo, topology.Example, 0o644); err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	env := &Env{Stdout: io.Discard, Stderr: io.Discard}
	if Run([]string{"build", topo, "-o", out}, env) != ExitOK {
		b.Fatal("first build failed")
	}
	for b.Loop() {
		if Run([]string{"build", topo, "-o", out}, env) != ExitOK {
			b.Fatal("build failed")
		}
	}
}
