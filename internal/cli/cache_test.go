package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMain keeps this package's builds out of the user's cache directory.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ignigen-cli-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv(CacheEnv, dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Builds with the cache off, filling it and reading it write the same files; off leaves it empty.
func TestBuildCacheFlag(t *testing.T) {
	dir := t.TempDir()
	topo := writeTopology(t, dir, "topology.yaml")
	cdir := filepath.Join(dir, "cache")
	t.Setenv(CacheEnv, cdir)

	off := filepath.Join(dir, "off")
	r := run("build", topo, "-o", off, "--cache=false")
	require.Equal(t, 0, r.code, r.stderr)
	_, err := os.Stat(cdir)
	require.ErrorIs(t, err, os.ErrNotExist, "--cache=false touched the cache")
	want := tree(t, off)

	on := filepath.Join(dir, "on")
	require.NoError(t, os.Rename(off, on))
	for _, step := range []string{"cold", "warm"} {
		r = run("build", topo, "-o", on)
		require.Equal(t, 0, r.code, step+": "+r.stderr)
		require.Empty(t, r.stderr, step)
		require.Equal(t, want, tree(t, on), step)
	}
	entries, err := filepath.Glob(filepath.Join(cdir, "*", "*"))
	require.NoError(t, err)
	require.NotEmpty(t, entries, "the build cached nothing")

	t.Setenv(CacheEnv, "off")
	require.Equal(t, "", cacheDir(), CacheEnv+"=off")
}
