package cli

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/output"
	"github.com/ignigen/ignigen/internal/topology"
)

var update = flag.Bool("update", false, "rewrite testdata/invalid/*.golden from what `ignigen validate` prints")

// TestInvalidCorpus runs `ignigen validate` on every topology under testdata/invalid and
// compares its stderr with the case's .golden file, then checks `ignigen build` of the same
// file leaves an existing output directory exactly as it was. Cases named warn-* are valid:
// they print warnings and exit 0.
//
// A case whose leading comments hold "# env: NAME=VALUE" lines runs with those variables set,
// e.g. IGNIGEN_PROFILE_PATH for a test-only profile.
func TestInvalidCorpus(t *testing.T) {
	t.Chdir("../..") // golden files name the topology as testdata/invalid/NAME.yaml
	// testdata/invalid/snippets holds the Butane files some cases name.
	cases, err := filepath.Glob("testdata/invalid/*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(cases), 30)

	// An output directory from a successful build (secrets.yaml included), and all beside it.
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	example := filepath.Join(t.TempDir(), "topology.yaml")
	require.NoError(t, os.WriteFile(example, topology.Example, 0o644))
	res := run("build", example, "-o", out)
	require.Equal(t, ExitOK, res.code, res.stderr)
	require.FileExists(t, filepath.Join(out, SecretsFile))
	require.FileExists(t, filepath.Join(out, output.Marker))
	before := tree(t, parent)

	for _, path := range cases {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			valid := strings.HasPrefix(name, "warn-")
			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			setCaseEnv(t, path)

			res := run("validate", path)
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(res.stderr), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run `go test ./internal/cli -run TestInvalidCorpus -update` to create it")
			assert.Equal(t, string(want), res.stderr)
			if valid {
				assert.Equal(t, ExitOK, res.code)
				assert.Contains(t, res.stderr, ": warning: ")
				assert.NotContains(t, res.stderr, ": error: ")
				assert.Contains(t, res.stdout, path+": valid: ")
			} else {
				assert.Equal(t, ExitFailed, res.code)
				assert.Contains(t, res.stderr, path+": ")
				assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(path)+`: \d+ error\(s\), \d+ warning\(s\)(; testdata/invalid/snippets/[^:]+: \d+ error\(s\), \d+ warning\(s\))*\n\z`, res.stderr, "ends with the count, per file")
				assert.Empty(t, res.stdout)
			}
			for _, line := range strings.Split(strings.TrimSuffix(res.stderr, "\n"), "\n") {
				if strings.Contains(line, ": error: ") || strings.Contains(line, ": warning: ") {
					// FILE is the topology, or a snippet it names (under testdata/invalid/snippets).
					assert.Regexp(t, `^(`+regexp.QuoteMeta(path)+`|testdata/invalid/snippets/[^:]+):\d+:\d+: (error|warning): .+; .+`, line, "FILE:LINE:COL: SEVERITY: MESSAGE; HINT")
				}
			}

			if valid {
				fresh := filepath.Join(t.TempDir(), "out")
				res := run("build", path, "-o", fresh)
				assert.Equal(t, ExitOK, res.code, res.stderr)
				assert.Equal(t, string(want), res.stderr, "build prints the same warnings")
				return
			}
			res = run("build", path, "-o", out)
			assert.Equal(t, ExitFailed, res.code)
			assert.Equal(t, string(want), res.stderr, "build prints the same diagnostics")
			assert.Empty(t, res.stdout)
			assert.Equal(t, before, tree(t, parent), "the output directory and everything beside it are untouched")
		})
	}
}

// setCaseEnv sets the variables a case names in its leading "# env: NAME=VALUE" comments.
func setCaseEnv(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "#") {
			return
		}
		if kv, ok := strings.CutPrefix(line, "# env: "); ok {
			k, v, found := strings.Cut(kv, "=")
			require.True(t, found, "%s: %q is not NAME=VALUE", path, kv)
			t.Setenv(k, v)
		}
	}
}
