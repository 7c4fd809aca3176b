package topology

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/osprofile"
)

var (
	libvirtNetRE = bounded(`^[A-Za-z0-9][A-Za-z0-9_.+-]*$`, 1, 64)
	kernelArgRE  = regexp.MustCompile(`^[[:graph:]]+$`)
)

// pxe checks the pxe section: what `ignigen serve` puts in every node's iPXE script.
func (v *validator) pxe(p *PXESpec, os *osprofile.Profile) model.PXE {
	out := model.PXE{KernelURL: orDefault(p.KernelURL, os.Defaults.PXEKernelURL), InitrdURLs: p.InitrdURLs, ExtraArgs: p.ExtraArgs}
	if !v.idx.has("pxe.initrdURLs") {
		out.InitrdURLs = append([]string{}, os.Defaults.PXEInitrdURLs...)
	}
	v.bootURL("pxe.kernelURL", out.KernelURL)
	for i, u := range out.InitrdURLs {
		v.bootURL(fmt.Sprintf("pxe.initrdURLs.%d", i), u)
	}
	for i, a := range out.ExtraArgs {
		p := fmt.Sprintf("pxe.extraArgs.%d", i)
		switch {
		case !kernelArgRE.MatchString(a):
			v.errorf(p, "write one kernel argument per list item, without spaces, e.g. console=ttyS0", "kernel argument %q is empty or holds spaces or control characters", a)
		case os.Reserved(a):
			v.errorf(p, "remove it: `ignigen serve` adds it with this node's own URL", "kernel argument %q is set by ignigen serve", a)
		}
	}
	return out
}

// bootURL accepts an http(s) URL or an absolute path on the `ignigen serve` host (e.g. /assets/...).
func (v *validator) bootURL(p, s string) {
	hint := "give an http:// URL of a local mirror, or a path such as " + DefaultPXEKernelURL + " that `ignigen serve --assets DIR` serves"
	if strings.HasPrefix(s, "/") {
		if !kernelArgRE.MatchString(s) || path.Clean(s) != s || strings.HasPrefix(s, "//") {
			v.errorf(p, hint, "%q is not a clean absolute path without spaces", s)
		}
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !kernelArgRE.MatchString(s) {
		v.errorf(p, hint, "%q is neither an http(s) URL nor an absolute path", s)
		return
	}
	if u.Scheme == "https" {
		v.warnf(p, "make sure your iPXE build has HTTPS (Debian's does not), or use http:// on a local mirror", "iPXE fetches %q over HTTPS", s)
	}
}

// vms resolves each node's VM settings: defaults, then the top-level vm section, then nodes[].vm.
func (v *validator) vms(f *File, c *model.Cluster) {
	base := v.vm("vm", &f.VM, defaultVM(c.OS))
	for i := range c.Nodes {
		if i >= len(f.Nodes) {
			break
		}
		p := fmt.Sprintf("nodes.%d.vm", i)
		n := &c.Nodes[i]
		n.VM = v.vm(p, &f.Nodes[i].VM, base)
		if !n.Role.Spec().APIServer {
			continue
		}
		// kubeadm's preflight fails on fewer than 2 CPUs or about 1700 MB on a control plane.
		if n.VM.CPUs < 2 {
			v.warnf(v.vmPath(p, "cpus"), "give control-plane VMs at least 2 CPUs", "kubeadm's preflight check fails on control-plane node %q with %d CPU", n.Name, n.VM.CPUs)
		}
		if n.VM.MemoryMiB < 2048 {
			v.warnf(v.vmPath(p, "memoryMiB"), "give control-plane VMs at least 2048 MiB", "control-plane node %q gets only %d MiB", n.Name, n.VM.MemoryMiB)
		}
	}
}

// vmPath is where a node's effective VM field is written: its own override, else the vm section.
func (v *validator) vmPath(nodePath, field string) string {
	if v.idx.has(nodePath + "." + field) {
		return nodePath + "." + field
	}
	if v.idx.has("vm." + field) {
		return "vm." + field
	}
	return nodePath
}

func (v *validator) vm(p string, s *VMSpec, out model.VM) model.VM {
	if s.MemoryMiB != nil {
		out.MemoryMiB = *s.MemoryMiB
		if out.MemoryMiB < 512 || out.MemoryMiB > 4<<20 {
			v.errorf(p+".memoryMiB", "give the VM's RAM in MiB, from 512 to 4194304, e.g. 4096", "memory %d MiB is out of range", out.MemoryMiB)
		}
	}
	if s.CPUs != nil {
		out.CPUs = *s.CPUs
		if out.CPUs < 1 || out.CPUs > 255 {
			v.errorf(p+".cpus", "give a number of vCPUs from 1 to 255", "%d vCPUs is out of range", out.CPUs)
		}
	}
	if s.Network != "" {
		out.Network = s.Network
		if !libvirtNetRE.MatchString(out.Network) {
			v.errorf(p+".network", "name a libvirt network (`virsh net-list --all`), e.g. default", "libvirt network name %q is not valid", out.Network)
		}
	}
	if s.Image != "" {
		out.Image = s.Image
		v.hostPath(p+".image", out.Image, "the OS's QEMU image, e.g. "+DefaultVMImage)
	}
	if s.DiskDir != "" {
		out.DiskDir = s.DiskDir
		v.hostPath(p+".diskDir", out.DiskDir, "a directory libvirt's QEMU may read, e.g. "+DefaultVMDiskDir)
	}
	return out
}

// hostPath checks a path that ends up in virt-install and -fw_cfg options, where commas separate options.
func (v *validator) hostPath(p, s, what string) {
	switch {
	case !strings.HasPrefix(s, "/"):
		v.errorf(p, "give an absolute path: "+what, "%q is not an absolute path", s)
	case strings.ContainsAny(s, ",\"'\\$`") || !kernelArgRE.MatchString(s):
		v.errorf(p, "use a path without spaces, commas, quotes, '$' or backslashes: they break virt-install and -fw_cfg options", "path %q has characters that cannot be passed to QEMU", s)
	}
}
