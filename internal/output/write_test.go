package output

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPublish(t *testing.T) {
	for _, tc := range []struct {
		name    string
		write   func(root string, files []File) error
		old     bool   // a file is already at the target
		want    string // the target's bytes afterwards
		wantErr string
	}{
		{name: "replace new", write: Replace, want: "new"},
		{name: "replace existing", write: Replace, old: true, want: "new"},
		{name: "create new", write: Create, want: "new"},
		{name: "create refuses existing", write: Create, old: true, want: "old", wantErr: "file already exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dst := filepath.Join(root, "sub", "f")
			if tc.old {
				require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
				require.NoError(t, os.WriteFile(dst, []byte("old"), 0o644))
			}
			err := tc.write(root, []File{{Name: "sub/f", Data: []byte("new"), Mode: 0o600}})
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
				fi, err := os.Stat(dst)
				require.NoError(t, err)
				assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "mode set exactly, umask or not")
			}
			got, err := os.ReadFile(dst)
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
			entries, err := os.ReadDir(filepath.Dir(dst))
			require.NoError(t, err)
			assert.Len(t, entries, 1, "no temporary file is left")
		})
	}
}

func TestPublishRefusesEscape(t *testing.T) {
	for _, name := range []string{"", "../x", "/etc/x", "a/../../x"} {
		root := t.TempDir()
		assert.ErrorContains(t, Replace(root, []File{{Name: name, Data: []byte("x"), Mode: 0o600}}), "not a path inside", name)
		entries, err := os.ReadDir(root)
		require.NoError(t, err)
		assert.Empty(t, entries, name)
	}
}

func TestPublishNothing(t *testing.T) {
	root := filepath.Join(t.TempDir(), "absent")
	require.NoError(t, Replace(root, nil), "an export of nodes without MACs writes nothing")
	assert.NoDirExists(t, root)
}
