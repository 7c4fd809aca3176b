package manifest

import (
	"net/url"
	"path"

	"github.com/ignigen/ignigen/internal/osprofile"
)

// KernelArgs are the kernel arguments (after the kernel) that boot p's PXE images on os and make
// Ignition fetch configURL: initrd= for each initrd (its file name, without a query string,
// since that is the name iPXE registers), the profile's boot arguments (base: the server of the
// boot files, for a profile's {base}), then the topology's extra arguments.
func KernelArgs(os *osprofile.Profile, p PXE, base, configURL string) []string {
	var args []string
	for _, u := range p.InitrdURLs {
		args = append(args, "initrd="+InitrdName(u))
	}
	args = append(args, os.BootArgs(base, configURL)...)
	return append(args, p.ExtraArgs...)
}

// InitrdName is the name iPXE gives an initrd fetched from u: the last element of its path.
func InitrdName(u string) string {
	if p, err := url.Parse(u); err == nil {
		return path.Base(p.Path)
	}
	return path.Base(u)
}
