package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/ignfiles"
	"github.com/ignigen/ignigen/internal/osprofile"
	"github.com/ignigen/ignigen/internal/output"
)

// TestFilesOnlyProfile proves that a profile is data: testdata/profiles/labos is only a
// profile.yaml and one layer, no Go code knows its name, and through $IGNIGEN_PROFILE_PATH it
// validates and builds a cluster whose configs carry its data (fw_cfg key, user, binaries'
// place, network style) and its own layer. Without the path the same topology is refused, and
// the error lists the profiles that do exist.
func TestFilesOnlyProfile(t *testing.T) {
	profilesDir, err := filepath.Abs("../../testdata/profiles")
	require.NoError(t, err)
	work := t.TempDir()
	topo := writeTopology(t, work, "topology.yaml", "  profile: flatcar ", "  profile: labos ")
	out := filepath.Join(work, "out")

	t.Setenv(osprofile.PathEnv, "")
	res := run("validate", topo)
	require.Equal(t, ExitFailed, res.code, "a profile nobody installed must be refused")
	assert.Contains(t, res.stderr, `unknown OS profile "labos"`)
	assert.Contains(t, res.stderr, "fcos, flatcar")

	t.Setenv(osprofile.PathEnv, profilesDir)
	res = run("validate", topo)
	require.Equal(t, ExitOK, res.code, res.stderr)
	res = run("build", topo, "-o", out)
	require.Equal(t, ExitOK, res.code, res.stderr)

	raw, err := os.ReadFile(filepath.Join(out, output.Marker))
	require.NoError(t, err)
	var m struct{ Profile string }
	require.NoError(t, json.Unmarshal(raw, &m))
	assert.Equal(t, "labos", m.Profile)

	qemu, err := os.ReadFile(filepath.Join(out, "node1-cp.qemu.sh"))
	require.NoError(t, err)
	assert.Contains(t, string(qemu), "name=opt/org.example.labos/config,", "the fw_cfg key is the profile's")

	raw, err = os.ReadFile(filepath.Join(out, "node1-cp.ign"))
	require.NoError(t, err)
	cfg, files, err := ignfiles.Parse(raw)
	require.NoError(t, err)
	require.Len(t, cfg.Passwd.Users, 1)
	assert.Equal(t, "admin", cfg.Passwd.Users[0].Name, "the login is the profile's user")
	motd := ignfiles.Find(files, "/etc/motd")
	require.NotNil(t, motd, "the profile's own base layer is used")
	assert.Equal(t, "node1-cp of flatcar-ha, built from profile labos\n", string(motd.Data))
	kubeadm := ignfiles.Find(files, "/opt/labos/bin/kubeadm")
	require.NotNil(t, kubeadm, "binaries go to the profile's binDir")
	assert.Equal(t, "http://mirror.lab.example/kubernetes/v1.35.4/x86_64/kubeadm", kubeadm.Source)
	assert.NotNil(t, ignfiles.Find(files, "/etc/systemd/network/00-eth0.network"), "network: networkd picks the networkd template")
	assert.Nil(t, ignfiles.Find(files, "/etc/NetworkManager/system-connections/eth0.nmconnection"))
	assert.Nil(t, ignfiles.Find(files, "/etc/zincati/config.d/55-ignigen-updates-strategy.toml"), "no update agent in the data, no zincati file")
	assert.NotNil(t, ignfiles.Find(files, "/etc/containerd/config.toml"), "its runtime data names a configuration file")
}
