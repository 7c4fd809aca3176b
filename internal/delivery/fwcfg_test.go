//go:build integration

package delivery

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ignigen/ignigen/internal/testkit"
	"github.com/ignigen/ignigen/internal/topology"
)

// TestFwCfg boots a kernel and busybox initramfs with each kind of node's config in fw_cfg
// (as NODE.qemu.sh and virt-install pass it) and checks the guest reads the exact bytes.
func TestFwCfg(t *testing.T) {
	vmlinuz, modDir := kernel(t)
	initrd := initramfs(t, modDir)
	out, m := testkit.BuildSource(t, topology.Example)
	for _, i := range []int{0, len(m.Nodes) - 1} { // the init control plane (largest) and a worker
		n := m.Nodes[i]
		t.Run(n.Name, func(t *testing.T) {
			file := filepath.Join(out, n.File)
			data, err := os.ReadFile(file)
			testkit.Must(t, err)
			got, console := qemu(t, 4*time.Minute, nil,
				"-kernel", vmlinuz, "-initrd", initrd, "-nic", "none",
				"-append", "console=ttyS0 panic=-1 quiet ignigen.test=fwcfg",
				"-fw_cfg", "name="+fwCfgName+",file="+file)
			expect(t, got, data, console)
		})
	}
}
