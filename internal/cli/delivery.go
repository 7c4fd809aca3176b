package cli

import (
	"fmt"
	"path/filepath"

	"github.com/ignigen/ignigen/internal/build"
	"github.com/ignigen/ignigen/internal/vm"
)

// deliverySummary reports config sizes against fw_cfg's speed and where the VM scripts are.
func deliverySummary(env *Env, dir string, res *build.Result) {
	largest, name := 0, ""
	for _, n := range res.Manifest.Nodes {
		if n.Bytes > largest {
			largest, name = n.Bytes, n.Name
		}
	}
	fmt.Fprintf(env.Stdout, "VMs: %s up|down|status (libvirt), or NODE.qemu.sh; largest config %s, %.1f KiB, ~%s to read through fw_cfg\n",
		filepath.Join(dir, vm.ClusterScript), name, float64(largest)/1024, vm.FwCfgReadTime(largest))
	for _, n := range res.Manifest.Nodes {
		if n.Bytes >= vm.SlowFwCfgBytes {
			fmt.Fprintf(env.Stdout, "warning: %s is %.0f KiB: fw_cfg reads it in ~%s (quadratic in size); serve it over HTTP (ignigen serve) or shrink it\n",
				n.File, float64(n.Bytes)/1024, vm.FwCfgReadTime(n.Bytes))
		}
	}
}
