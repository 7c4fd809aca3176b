package output

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWriteDirReusesUnchanged: a file whose bytes and mode are unchanged keeps its inode (linked,
// not written again); any difference, or another link to the old file, gets a new file.
func TestWriteDirReusesUnchanged(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	first := []File{
		{Name: Marker, Data: []byte("1"), Mode: 0o644},
		{Name: "same.ign", Data: []byte("same"), Mode: 0o600},
		{Name: "empty", Data: nil, Mode: 0o600},
		{Name: "bytes.ign", Data: []byte("old"), Mode: 0o600},
		{Name: "longer.ign", Data: []byte("abc"), Mode: 0o600},
		{Name: "mode.sh", Data: []byte("#!/bin/sh"), Mode: 0o644},
		{Name: "shared.ign", Data: []byte("s"), Mode: 0o600},
		{Name: "edited.ign", Data: []byte("e"), Mode: 0o600},
	}
	require.NoError(t, WriteDir(dir, first))
	before := stats(t, dir)
	elsewhere := filepath.Join(parent, "elsewhere")
	require.NoError(t, os.Link(filepath.Join(dir, "shared.ign"), elsewhere))
	// An edit in place (same size, other bytes) must not be mistaken for the wanted file.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "edited.ign"), []byte("E"), 0o600))

	second := []File{
		{Name: Marker, Data: []byte("1"), Mode: 0o644},
		{Name: "same.ign", Data: []byte("same"), Mode: 0o600},
		{Name: "empty", Data: nil, Mode: 0o600},
		{Name: "bytes.ign", Data: []byte("new"), Mode: 0o600},
		{Name: "longer.ign", Data: []byte("abcd"), Mode: 0o600},
		{Name: "mode.sh", Data: []byte("#!/bin/sh"), Mode: 0o755},
		{Name: "shared.ign", Data: []byte("s"), Mode: 0o600},
		{Name: "edited.ign", Data: []byte("e"), Mode: 0o600},
	}
	require.NoError(t, WriteDir(dir, second))
	after := stats(t, dir)
	for _, name := range []string{Marker, "same.ign", "empty"} {
		assert.True(t, os.SameFile(before[name], after[name]), "%s is unchanged: linked, not written", name)
	}
	for _, name := range []string{"bytes.ign", "longer.ign", "mode.sh", "shared.ign", "edited.ign"} {
		assert.False(t, os.SameFile(before[name], after[name]), "%s differs or has another link: a new file", name)
	}
	assert.Equal(t, map[string]string{
		Marker: "-rw-r--r-- 1", "same.ign": "-rw------- same", "empty": "-rw------- ", "bytes.ign": "-rw------- new",
		"longer.ign": "-rw------- abcd", "mode.sh": "-rwxr-xr-x #!/bin/sh", "shared.ign": "-rw------- s", "edited.ign": "-rw------- e",
	}, snapshot(t, dir))
	for name, fi := range after {
		assert.Equal(t, uint64(1), nlink(fi), "%s: the old directory is gone, so one link is left", name)
	}
	got, err := os.ReadFile(elsewhere)
	require.NoError(t, err)
	assert.Equal(t, "s", string(got))
	assert.False(t, os.SameFile(after["shared.ign"], statOf(t, elsewhere)), "a link outside the output never shares the new file")
}

// TestWriteDirReuseNoSymlink: a symbolic link in the old directory is never followed into the new one.
func TestWriteDirReuseNoSymlink(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	require.NoError(t, WriteDir(dir, []File{{Name: Marker, Data: []byte("1"), Mode: 0o644}}))
	target := filepath.Join(parent, "target")
	require.NoError(t, os.WriteFile(target, []byte("x"), 0o600))
	require.NoError(t, os.Symlink(target, filepath.Join(dir, "x.ign")))
	require.NoError(t, WriteDir(dir, []File{{Name: Marker, Data: []byte("1"), Mode: 0o644}, {Name: "x.ign", Data: []byte("x"), Mode: 0o600}}))
	fi, err := os.Lstat(filepath.Join(dir, "x.ign"))
	require.NoError(t, err)
	assert.True(t, fi.Mode().IsRegular())
	assert.False(t, os.SameFile(fi, statOf(t, target)))
}

func stats(t *testing.T, dir string) map[string]os.FileInfo {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := map[string]os.FileInfo{}
	for _, e := range entries {
		out[e.Name()] = statOf(t, filepath.Join(dir, e.Name()))
	}
	return out
}

func statOf(t *testing.T, path string) os.FileInfo {
	t.Helper()
	fi, err := os.Lstat(path)
	require.NoError(t, err)
	return fi
}

func nlink(fi os.FileInfo) uint64 { return uint64(fi.Sys().(*syscall.Stat_t).Nlink) }
