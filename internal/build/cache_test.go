package build

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/cache"
	"github.com/ignigen/ignigen/profiles"
)

// The cache changes no byte: a first build that fills it, a rebuild that reads it, and a rebuild
// from entries that were all damaged give what an uncached build gives, for every golden case;
// the key material of the bundle appears in no entry.
func TestCacheKeepsOutput(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			bc := loadCase(t, name) // uncached
			c, err := cache.Open(filepath.Join(t.TempDir(), "cache"), []byte("test build"))
			require.NoError(t, err)
			same := func(step string) {
				t.Helper()
				res, err := BuildCached(bc.cluster, bc.bundle, profiles.FS, c)
				require.NoError(t, err, step)
				require.Equal(t, len(bc.result.Files), len(res.Files), step)
				for i, f := range res.Files {
					require.True(t, bytes.Equal(bc.result.Files[i].Data, f.Data), "%s: %s differs", step, f.Name)
				}
			}
			same("first build")
			entries, err := c.Entries()
			require.NoError(t, err)
			require.NotEmpty(t, entries, "the first build cached nothing")
			secrets := [][]byte{[]byte(bc.bundle.BootstrapToken), []byte(bc.bundle.VRRPPassword), []byte("PRIVATE KEY")}
			for _, kp := range bc.bundle.CAs {
				secrets = append(secrets, []byte(kp.Key[40:80])) // inside the key's base64
			}
			for _, e := range entries {
				raw, err := os.ReadFile(e)
				require.NoError(t, err)
				for _, s := range secrets {
					require.False(t, bytes.Contains(raw, s), "%s holds %q", e, s)
				}
			}
			same("rebuild")
			after, err := c.Entries()
			require.NoError(t, err)
			require.Equal(t, entries, after, "a rebuild of the same cluster added entries")

			sizes := map[string]int{}
			for _, e := range entries {
				raw, err := os.ReadFile(e)
				require.NoError(t, err)
				sizes[e] = len(raw)
				require.NoError(t, os.WriteFile(e, raw[:len(raw)/2], 0o600))
			}
			same("rebuild from truncated entries")
			for _, e := range entries {
				raw, err := os.ReadFile(e)
				require.NoError(t, err)
				require.Equal(t, sizes[e], len(raw), "%s was not rewritten", e)
			}
			same("rebuild from rewritten entries")
		})
	}
}
