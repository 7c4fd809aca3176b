package topology

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ignigen/ignigen/internal/report"
)

// maxFuzzInput bounds a fuzzed topology: larger inputs only slow the fuzzer down, and a
// 1000-node topology is about 100 KiB.
const maxFuzzInput = 16 << 10

// slowLimit and hangLimit bound one Parse of a bounded input, on a busy 2-core machine.
const (
	slowLimit = 2 * time.Second
	hangLimit = 30 * time.Second
)

// FuzzParse runs the whole Parse + validate path (snippets included) on arbitrary bytes: it must
// not panic, must agree with itself on success, and must place every diagnostic in the file.
// Run it with `make fuzz`; failures land in testdata/fuzz/FuzzParse and are replayed by go test.
func FuzzParse(f *testing.F) {
	f.Add(Example)
	seeds, _ := filepath.Glob("../../testdata/*/topology.yaml")
	invalid, _ := filepath.Glob("../../testdata/invalid/*.yaml")
	for _, p := range append(seeds, invalid...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(fixture))
	f.Add(longFlowLine(3000, "")) // a syntax error on a 9 KB line once took seconds to place
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			t.Skip()
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "extra.bu"), []byte("variant: flatcar\nversion: 1.1.0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		// A hang would stall the fuzzer without a report: make it a crash, which records the input.
		watchdog := time.AfterFunc(hangLimit, func() { panic(fmt.Sprintf("Parse of %d bytes still running after %s", len(data), hangLimit)) })
		start := time.Now()
		c, r, err := Parse(filepath.Join(dir, "t.yaml"), data)
		watchdog.Stop()
		if d := time.Since(start); d > slowLimit {
			t.Fatalf("Parse of %d bytes took %s", len(data), d)
		}
		switch {
		case err == nil && (c == nil || r.HasErrors()):
			t.Fatalf("no error, but model %v and errors %s", c != nil, r.String())
		case err != nil && c != nil:
			t.Fatalf("error %v with a model", err)
		case err != nil && !errors.As(err, new(*report.Invalid)):
			t.Fatalf("error %T is not a *report.Invalid: %v", err, err)
		case err != nil && !r.HasErrors():
			t.Fatalf("error without an error entry: %v", err)
		}
		lines := yamlLines(data)
		for _, e := range r.Entries {
			if e.Pos.Line < 1 || e.Pos.Line > lines || e.Pos.Col < 1 {
				t.Errorf("%s is outside the input's %d lines", r.Format(e), lines)
			}
		}
		_ = r.String()
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("Parse wrote into the topology's directory: %d entries", len(entries))
		}
	})
}

// yamlLines counts lines as YAML does: \n, \r\n, a lone \r, and NEL, LS and PS break lines.
func yamlLines(data []byte) int {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	return 1 + strings.Count(s, "\n") + strings.Count(s, "\r") + strings.Count(s, "\u0085") + strings.Count(s, "\u2028") + strings.Count(s, "\u2029")
}
