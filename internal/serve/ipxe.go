package serve

import (
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/ignigen/ignigen/internal/build"
)

// Script is node n's iPXE script: boot the PXE kernel and initramfs with the kernel arguments that
// make Ignition fetch n's config from base.
func Script(m build.Manifest, n build.NodeSummary, base string) string {
	abs := func(u string) string {
		if strings.HasPrefix(u, "/") {
			return base + u
		}
		return u
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#!ipxe\n# ignigen: node %s (%s) of cluster %s\n", n.Name, n.Role, m.Cluster)
	args := []string{abs(m.PXE.KernelURL)}
	for _, u := range m.PXE.InitrdURLs {
		args = append(args, "initrd="+path.Base(stripQuery(u)))
	}
	args = append(args, "flatcar.first_boot=1",
		"ignition.config.url="+base+"/ignition?mac="+strings.ReplaceAll(n.MAC, ":", "-"))
	args = append(args, m.PXE.ExtraArgs...)
	fmt.Fprintf(&b, "kernel %s\n", strings.Join(args, " "))
	for _, u := range m.PXE.InitrdURLs {
		fmt.Fprintf(&b, "initrd %s\n", abs(u))
	}
	b.WriteString("boot\n")
	return b.String()
}

func stripQuery(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Path
	}
	return u
}
