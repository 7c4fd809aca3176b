package vm

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/osprofile"
	"github.com/ignigen/ignigen/profiles"
)

var flatcar = func() *osprofile.Profile {
	p, err := osprofile.Load(profiles.FS, "flatcar")
	if err != nil {
		panic(err)
	}
	return p
}()

func testCluster() *model.Cluster {
	v := model.VM{MemoryMiB: 4096, CPUs: 2, Network: "default", Image: "/img/flatcar.img", DiskDir: "/var/lib/vms"}
	w := v
	w.MemoryMiB, w.Network = 2048, "lab net"
	return &model.Cluster{Name: "demo", OS: flatcar, Nodes: []model.Node{
		{Name: "cp1", Role: model.ControlPlane, IP: netip.MustParseAddr("10.0.0.11"), MAC: "52:54:00:00:00:11", Init: true, VM: v},
		{Name: "w1", Role: model.Worker, IP: netip.MustParseAddr("10.0.0.21"), VM: w},
	}}
}

func ign(n model.Node) string { return n.Name + ".ign" }

func files(t *testing.T) map[string]string {
	out := map[string]string{}
	for _, f := range Files(testCluster(), ign) {
		assert.Equal(t, 0o755, int(f.Mode), f.Name)
		out[f.Name] = string(f.Data)
	}
	return out
}

func TestFilesContent(t *testing.T) {
	fs := files(t)
	require.Len(t, fs, 5)
	for _, tc := range []struct{ file, want string }{
		{"cp1.virt-install.sh", "--name demo-cp1 \\\n"},
		{"cp1.virt-install.sh", "--memory 4096 \\\n  --vcpus 2 \\\n"},
		{"cp1.virt-install.sh", "--network network=default,mac=52:54:00:00:00:11,model=virtio"},
		{"cp1.virt-install.sh", "'--qemu-commandline=-fw_cfg name=opt/org.flatcar-linux/config,file=/var/lib/vms/demo-cp1.ign'"},
		{"cp1.virt-install.sh", "qemu-img create -f qcow2 -F qcow2 -b /img/flatcar.img /var/lib/vms/demo-cp1.qcow2"},
		{"cp1.virt-install.sh", `"$here/cp1.ign" /var/lib/vms/demo-cp1.ign`},
		{"w1.virt-install.sh", "--network 'network=lab net,mac=52:54:00:"},
		{"w1.virt-install.sh", "--memory 2048"},
		{"cp1.qemu.sh", "-m 4096 \\\n  -smp 2 \\\n"},
		{"cp1.qemu.sh", `-fw_cfg name=opt/org.flatcar-linux/config,file="$here/cp1.ign"`},
		{"cp1.qemu.sh", "-device virtio-net-pci,netdev=net0,mac=52:54:00:00:00:11"},
		{"cp1.qemu.sh", `-accel "${ACCEL:-kvm}"`},
		{"cluster.sh", "  up demo-cp1 cp1.virt-install.sh\n  up demo-w1 w1.virt-install.sh\n"},
		{"cluster.sh", "  down demo-w1 /var/lib/vms/demo-w1.qcow2 /var/lib/vms/demo-w1.ign\n"},
		{"cluster.sh", "  status demo-cp1\n"},
	} {
		assert.Contains(t, fs[tc.file], tc.want, tc.file)
	}
}

func TestDeterministicAndDerivedMAC(t *testing.T) {
	a, b := files(t), files(t)
	assert.Equal(t, a, b)
	c := testCluster()
	m := MAC(c, c.Nodes[1])
	assert.Regexp(t, `^52:54:00:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$`, m)
	assert.Equal(t, m, MAC(c, c.Nodes[1]))
	assert.Equal(t, "52:54:00:00:00:11", MAC(c, c.Nodes[0]))
}

func TestScriptsParse(t *testing.T) {
	dir := t.TempDir()
	for name, data := range files(t) {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(data), 0o755))
		out, err := exec.Command("sh", "-n", p).CombinedOutput()
		assert.NoError(t, err, "%s: %s", name, out)
	}
	out, err := exec.Command("sh", filepath.Join(dir, "cluster.sh"), "bogus").CombinedOutput()
	assert.Error(t, err)
	assert.True(t, strings.Contains(string(out), "usage:"), string(out))
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain/path.ign": "plain/path.ign",
		"a b":            "'a b'",
		"it's":           `'it'\''s'`,
		"$x":             "'$x'",
	} {
		assert.Equal(t, want, sq(in))
	}
}

func TestFwCfgReadTime(t *testing.T) {
	for _, tc := range []struct {
		size int
		want time.Duration
	}{{1 << 20, 8300 * time.Millisecond}, {256 << 10, 519 * time.Millisecond}, {16 << 10, 2 * time.Millisecond}} {
		assert.Equal(t, tc.want, FwCfgReadTime(tc.size), tc.size)
	}
}
