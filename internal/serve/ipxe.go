package serve

import (
	"fmt"
	"strings"

	"github.com/ignigen/ignigen/internal/build"
	"github.com/ignigen/ignigen/internal/manifest"
	"github.com/ignigen/ignigen/internal/osprofile"
)

// Script is node n's iPXE script: boot the PXE kernel and initramfs of os with the kernel
// arguments that make Ignition fetch n's config from base.
func Script(m build.Manifest, os *osprofile.Profile, n build.NodeSummary, base string) string {
	abs := func(u string) string {
		if strings.HasPrefix(u, "/") {
			return base + u
		}
		return u
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#!ipxe\n# ignigen: node %s (%s) of cluster %s\n", n.Name, n.Role, m.Cluster)
	args := append([]string{abs(m.PXE.KernelURL)}, manifest.KernelArgs(os, *m.PXE, base, base+"/ignition?mac="+strings.ReplaceAll(n.MAC, ":", "-"))...)
	fmt.Fprintf(&b, "kernel %s\n", strings.Join(args, " "))
	for _, u := range m.PXE.InitrdURLs {
		fmt.Fprintf(&b, "initrd %s\n", abs(u))
	}
	b.WriteString("boot\n")
	return b.String()
}
