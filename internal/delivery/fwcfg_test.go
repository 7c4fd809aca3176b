//go:build integration

package delivery

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/ignigen/ignigen/internal/testkit"
	"github.com/ignigen/ignigen/internal/topology"
)

// profileCases are the clusters the delivery tests boot, one per embedded profile: the example
// topology (flatcar) and testdata/fcos-ha (fcos), with the fw_cfg key each OS's Ignition reads.
var profileCases = []struct {
	profile, topology, fwCfgKey string
}{
	{"flatcar", "", "opt/org.flatcar-linux/config"},
	{"fcos", "../../testdata/fcos-ha/topology.yaml", "opt/com.coreos/config"},
}

// topologySource is a case's topology text (the example topology when none is named).
func topologySource(t *testing.T, path string) []byte {
	if path == "" {
		return topology.Example
	}
	src, err := os.ReadFile(path)
	testkit.Must(t, err)
	return src
}

var fwCfgArgRE = regexp.MustCompile(`-fw_cfg name=([^,]+),file=`)

// TestFwCfg boots a kernel and busybox initramfs with each kind of node's config in fw_cfg
// under the key the build wrote into NODE.qemu.sh, for each profile, and checks the key is the
// OS's and the guest reads the exact bytes from it.
func TestFwCfg(t *testing.T) {
	vmlinuz, modDir := kernel(t)
	initrd := initramfs(t, modDir)
	for _, pc := range profileCases {
		t.Run(pc.profile, func(t *testing.T) {
			out, m := testkit.BuildSource(t, topologySource(t, pc.topology))
			for _, i := range []int{0, len(m.Nodes) - 1} { // the init control plane (largest) and the last node
				n := m.Nodes[i]
				t.Run(n.Name, func(t *testing.T) {
					script, err := os.ReadFile(filepath.Join(out, n.Name+".qemu.sh"))
					testkit.Must(t, err)
					key := fwCfgArgRE.FindSubmatch(script)
					if key == nil || string(key[1]) != pc.fwCfgKey {
						t.Fatalf("%s.qemu.sh passes the config under %q, want %s's %q", n.Name, key, pc.profile, pc.fwCfgKey)
					}
					file := filepath.Join(out, n.File)
					data, err := os.ReadFile(file)
					testkit.Must(t, err)
					got, console := qemu(t, 4*time.Minute, nil,
						"-kernel", vmlinuz, "-initrd", initrd, "-nic", "none",
						"-append", "console=ttyS0 panic=-1 quiet ignigen.test=fwcfg ignigen.fwcfg="+pc.fwCfgKey,
						"-fw_cfg", "name="+pc.fwCfgKey+",file="+file)
					expect(t, got, data, console)
				})
			}
		})
	}
	// Negative control: the fcos config under Flatcar's key is not where the guest looks for it.
	t.Run("wrong-key", func(t *testing.T) {
		out, m := testkit.BuildSource(t, topologySource(t, profileCases[1].topology))
		got, console := qemu(t, 4*time.Minute, nil,
			"-kernel", vmlinuz, "-initrd", initrd, "-nic", "none",
			"-append", "console=ttyS0 panic=-1 quiet ignigen.test=fwcfg ignigen.fwcfg="+profileCases[1].fwCfgKey,
			"-fw_cfg", "name="+profileCases[0].fwCfgKey+",file="+filepath.Join(out, m.Nodes[0].File))
		if !regexp.MustCompile(`^IGNIGEN-ERROR no config`).MatchString(got) {
			t.Fatalf("guest read a config from the wrong key: %q\n%s", got, testkit.LastBytes(console, 2000))
		}
		t.Logf("negative control: %s", got)
	})
}
