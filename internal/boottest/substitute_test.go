package boottest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/ignfiles"
	"github.com/ignigen/ignigen/internal/testkit"
	"github.com/ignigen/ignigen/internal/topology"
)

// TestSubstitutionsOnly builds the example twice with the same secrets, as `ignigen build` does
// (the real topology) and as the boot test does (TestTopology, then Substitute), and fails on any
// difference but the listed substitutions: the sysext URL, Cilium's install unit (cni: none),
// the kubeadm settings of SubstituteKubeadm and the added CNI snippet.
//
// It covers every topology the boot suite boots: the example (stacked) and testdata/external-lb
// (load-balancer and management nodes, whose configs must stay byte for byte as built).
func TestSubstitutionsOnly(t *testing.T) {
	external, err := os.ReadFile(ExternalTopologyPath)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		src  []byte
	}{
		{"example", topology.Example},
		{"external-lb", external},
	} {
		t.Run(tc.name, func(t *testing.T) { substitutionsOnly(t, tc.src) })
	}
}

func substitutionsOnly(t *testing.T, realSrc []byte) {
	dir := t.TempDir()
	realTopo := filepath.Join(dir, "topology.yaml")
	require.NoError(t, os.WriteFile(realTopo, realSrc, 0o644))
	realOut, manifest := testkit.Build(t, realTopo, "")
	src, err := TestTopology(realSrc, "http://127.0.0.1:1/sysext")
	require.NoError(t, err)
	testTopo := filepath.Join(dir, "test-topology.yaml")
	require.NoError(t, os.WriteFile(testTopo, src, 0o644))
	testOut, _ := testkit.Build(t, testTopo, filepath.Join(realOut, "secrets.yaml"))

	for i, n := range manifest.Nodes {
		realRaw, err := os.ReadFile(filepath.Join(realOut, n.Name+".ign"))
		require.NoError(t, err)
		testRaw, err := os.ReadFile(filepath.Join(testOut, n.Name+".ign"))
		require.NoError(t, err)
		subst, err := Substitute(testRaw, i+1)
		require.NoError(t, err, n.Name)
		_, realFiles, err := ignfiles.Parse(realRaw)
		require.NoError(t, err)
		_, testFiles, err := ignfiles.Parse(subst)
		require.NoError(t, err)
		realBy, testBy := byPath(realFiles), byPath(testFiles)
		_, hasInit := realBy[InitConfigPath]
		if _, hasJoin := realBy[JoinConfigPath]; !hasInit && !hasJoin {
			// No kubeadm on the node (load-balancer, management): booted as the test build made it.
			assert.Equal(t, string(testRaw), string(subst), "%s: a node without kubeadm gets no substitution", n.Name)
		}
		for p, rf := range realBy {
			tf, ok := testBy[p]
			switch {
			case p == "/etc/systemd/system/cilium-install.service":
				assert.False(t, ok, "%s: cilium-install.service with cni: none", n.Name)
			case !ok:
				t.Errorf("%s: %s missing from the test config", n.Name, p)
			case strings.HasPrefix(p, SysextPrefix) || strings.HasPrefix(p, "/etc/sysupdate.kubernetes.d/"):
				// The sysext download and systemd-sysupdate's source: the base URL only.
				const realURL, testURL = "https://extensions.flatcar.org/extensions", "http://127.0.0.1:1/sysext"
				assert.Equal(t, strings.ReplaceAll(rf.Source, realURL, testURL), tf.Source, "%s: %s", n.Name, p)
				assert.Equal(t, strings.ReplaceAll(string(rf.Data), realURL, testURL), string(tf.Data), "%s: %s", n.Name, p)
				assert.Equal(t, rf.Mode, tf.Mode)
			case p == InitConfigPath || p == JoinConfigPath:
				want, err := SubstituteKubeadm(p, rf.Data)
				require.NoError(t, err)
				assert.Equal(t, string(want), string(tf.Data), "%s: %s", n.Name, p)
			default:
				assert.True(t, bytes.Equal(rf.Data, tf.Data) && rf.Mode == tf.Mode && rf.Source == tf.Source, "%s: %s differs from the real build", n.Name, p)
			}
		}
		for p, tf := range testBy {
			if _, ok := realBy[p]; ok {
				continue
			}
			if p == CNIConfigPath {
				assert.Equal(t, string(CNIConfig(i+1)), string(tf.Data))
				continue
			}
			t.Errorf("%s: %s is only in the test config", n.Name, p)
		}
		// Units, enablement and links beyond the files: compare the configs without files.
		realCfg, _, _ := ignfiles.Parse(realRaw)
		testCfg, _, _ := ignfiles.Parse(subst)
		var realUnits, testUnits []string
		for _, u := range realCfg.Systemd.Units {
			if u.Name != "cilium-install.service" {
				realUnits = append(realUnits, u.Name)
			}
		}
		for _, u := range testCfg.Systemd.Units {
			testUnits = append(testUnits, u.Name)
		}
		assert.Equal(t, realUnits, testUnits, n.Name)
		assert.Equal(t, realCfg.Storage.Links, testCfg.Storage.Links, n.Name)
		assert.Equal(t, realCfg.Passwd, testCfg.Passwd, n.Name)
	}
	realKC, err := os.ReadFile(filepath.Join(realOut, "admin.kubeconfig"))
	require.NoError(t, err)
	testKC, err := os.ReadFile(filepath.Join(testOut, "admin.kubeconfig"))
	require.NoError(t, err)
	assert.Equal(t, string(realKC), string(testKC), "admin.kubeconfig")
}

func byPath(files []ignfiles.File) map[string]ignfiles.File {
	m := map[string]ignfiles.File{}
	for _, f := range files {
		m[f.Path] = f
	}
	return m
}
