package output

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		fi, err := e.Info()
		require.NoError(t, err)
		out[e.Name()] = fi.Mode().String() + " " + string(data)
	}
	return out
}

func onlyEntry(t *testing.T, parent string) {
	t.Helper()
	entries, err := os.ReadDir(parent)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary directory is left beside the output")
}

func TestWriteDir(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	first := []File{{Name: Marker, Data: []byte("1"), Mode: 0o644}, {Name: "a.ign", Data: []byte("a"), Mode: 0o600}, {Name: "gone.ign", Data: []byte("g"), Mode: 0o600}}
	require.NoError(t, WriteDir(dir, first))
	assert.Equal(t, map[string]string{Marker: "-rw-r--r-- 1", "a.ign": "-rw------- a", "gone.ign": "-rw------- g"}, snapshot(t, dir))
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), "the output holds secrets")

	second := []File{{Name: Marker, Data: []byte("2"), Mode: 0o644}, {Name: "a.ign", Data: []byte("A"), Mode: 0o600}}
	require.NoError(t, WriteDir(dir, second))
	assert.Equal(t, map[string]string{Marker: "-rw-r--r-- 2", "a.ign": "-rw------- A"}, snapshot(t, dir), "a node removed from the topology loses its file")
	onlyEntry(t, parent)
}

func TestWriteDirFailureLeavesOld(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	require.NoError(t, WriteDir(dir, []File{{Name: Marker, Data: []byte("1"), Mode: 0o644}}))
	before := snapshot(t, dir)
	err := WriteDir(dir, []File{{Name: Marker, Data: []byte("2"), Mode: 0o644}, {Name: "../escape", Data: []byte("x"), Mode: 0o600}})
	require.Error(t, err)
	assert.Equal(t, before, snapshot(t, dir))
	onlyEntry(t, parent)
}

func TestWriteDirRefusesForeignDir(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "home")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "thesis.tex"), []byte("precious"), 0o644))
	err := WriteDir(dir, []File{{Name: Marker, Data: []byte("1"), Mode: 0o644}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not ignigen output")
	assert.Equal(t, map[string]string{"thesis.tex": "-rw-r--r-- precious"}, snapshot(t, dir))

	file := filepath.Join(parent, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	assert.ErrorContains(t, WriteDir(file, nil), "not a directory")

	empty := filepath.Join(parent, "empty")
	require.NoError(t, os.Mkdir(empty, 0o755))
	require.NoError(t, WriteDir(empty, []File{{Name: Marker, Data: []byte("1"), Mode: 0o644}}))
}
