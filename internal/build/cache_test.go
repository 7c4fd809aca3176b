package build

import (
	"bytes"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"

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
			h0, m0 := c.Stats()
			same("rebuild")
			h1, m1 := c.Stats()
			require.NotZero(t, h1-h0, "rebuild: no hits")
			require.Zero(t, m1-m0, "rebuild: misses")
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

// A rebuild after a change reads what did not change and gives what an uncached build of the
// changed topology gives: a node's new address reaches its own config and its peers'.
func TestCacheFollowsChanges(t *testing.T) {
	bc := loadCase(t, "flatcar-ha")
	c, err := cache.Open(filepath.Join(t.TempDir(), "cache"), []byte("test build"))
	require.NoError(t, err)
	_, err = BuildCached(bc.cluster, bc.bundle, profiles.FS, c)
	require.NoError(t, err)
	for i, n := range bc.cluster.Nodes {
		changed := *bc.cluster
		changed.Nodes = slices.Clone(bc.cluster.Nodes)
		changed.Nodes[i].IP = n.IP.Next().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next()
		want, err := Build(&changed, bc.bundle, profiles.FS)
		require.NoError(t, err)
		got, err := BuildCached(&changed, bc.bundle, profiles.FS, c)
		require.NoError(t, err)
		for j, f := range got.Files {
			require.True(t, bytes.Equal(want.Files[j].Data, f.Data), "%s moved: %s differs", n.Name, f.Name)
		}
	}
	// A cluster-wide setting that only .Cluster carries: every node's config changes.
	changed := *bc.cluster
	changed.Network.DNS = []netip.Addr{netip.MustParseAddr("192.168.122.53")}
	want, err := Build(&changed, bc.bundle, profiles.FS)
	require.NoError(t, err)
	got, err := BuildCached(&changed, bc.bundle, profiles.FS, c)
	require.NoError(t, err)
	for j, f := range got.Files {
		require.True(t, bytes.Equal(want.Files[j].Data, f.Data), "new DNS: %s differs", f.Name)
	}
	hits, misses := c.Stats()
	require.NotZero(t, hits, "nothing was reused")
	require.NotZero(t, misses, "nothing was rebuilt")
}

// A changed template misses: the cached configs of the old templates are not served for it.
func TestCacheFollowsTemplates(t *testing.T) {
	bc := loadCase(t, "flatcar-ha")
	c, err := cache.Open(filepath.Join(t.TempDir(), "cache"), []byte("test build"))
	require.NoError(t, err)
	_, err = BuildCached(bc.cluster, bc.bundle, profiles.FS, c)
	require.NoError(t, err)
	changed := fstest.MapFS{}
	require.NoError(t, fs.WalkDir(profiles.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(profiles.FS, p)
		changed[p] = &fstest.MapFile{Data: data}
		return err
	}))
	f := changed["flatcar/files/renew-certs.sh"]
	require.NotNil(t, f, "the template this test edits has moved")
	f.Data = append(bytes.Clone(f.Data), "# edited\n"...)
	want, err := Build(bc.cluster, bc.bundle, changed)
	require.NoError(t, err)
	got, err := BuildCached(bc.cluster, bc.bundle, changed, c)
	require.NoError(t, err)
	for i, f := range got.Files {
		require.True(t, bytes.Equal(want.Files[i].Data, f.Data), "%s differs", f.Name)
	}
	require.NotEqual(t, bc.result.Files[0].Data, got.Files[0].Data, "the edit changed nothing")
}
