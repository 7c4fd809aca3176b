package topology

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/osprofile"
)

// kubernetesSource checks where nodes download Kubernetes from: the sysext section for a profile
// whose kubernetes.source is sysext (Flatcar), the binaries section for one whose source is
// binaries (Fedora CoreOS). The other section has no effect, which is said.
func (v *validator) kubernetesSource(f *File, c *model.Cluster) {
	switch c.OS.Kubernetes.Source {
	case osprofile.SourceBinaries:
		if v.idx.has("sysext") {
			v.warnf("sysext", "remove it; profile "+c.Profile+" downloads the Kubernetes binaries named by the binaries section", "the sysext section has no effect with profile %s", c.Profile)
		}
		v.binaries(&f.Binaries, c)
	default:
		if v.idx.has("binaries") {
			v.warnf("binaries", "remove it; profile "+c.Profile+" takes Kubernetes from the sysext section's image", "the binaries section has no effect with profile %s", c.Profile)
		}
		v.sysext(&f.Sysext, c)
	}
}

func (v *validator) sysext(s *SysextSpec, c *model.Cluster) {
	c.Sysext.BaseURL = strings.TrimRight(orDefault(s.BaseURL, c.OS.Defaults.SysextBaseURL), "/")
	image := c.OS.SysextImage(c.Kubernetes.Version, osprofile.DefaultArch)
	if !httpURL(c.Sysext.BaseURL) {
		v.errorf("sysext.baseURL", "give an http:// or https:// URL of a directory holding "+c.OS.SysextImage("vX.Y.Z", osprofile.DefaultArch), "sysext base URL %q is not an http(s) URL", c.Sysext.BaseURL)
	}
	c.Sysext.SHA256 = strings.ToLower(s.SHA256)
	if c.Sysext.SHA256 != "" && !sha256RE.MatchString(c.Sysext.SHA256) {
		v.errorf("sysext.sha256", "give the 64 hex digits of `sha256sum "+image+"`, or omit it", "%q is not a SHA-256 digest", s.SHA256)
	}
}

// binaries checks the binaries section: a base URL and the SHA-256 digests of kubeadm, kubelet
// and kubectl (osprofile requires a binaries profile to download exactly those). A file without a
// digest is trusted by TLS only, which is said once.
func (v *validator) binaries(b *BinariesSpec, c *model.Cluster) {
	c.Binaries.BaseURL = strings.TrimRight(orDefault(b.BaseURL, c.OS.Defaults.BinariesBaseURL), "/")
	if !httpURL(c.Binaries.BaseURL) {
		v.errorf("binaries.baseURL", "give the http:// or https:// URL that "+c.OS.Kubernetes.URL+" is filled in with", "binaries base URL %q is not an http(s) URL", c.Binaries.BaseURL)
	}
	c.Binaries.SHA256 = map[string]string{}
	var missing []string
	for _, e := range b.SHA256.byName() {
		name, sum := e[0], strings.ToLower(e[1])
		switch {
		case sum == "":
			missing = append(missing, name)
		case !sha256RE.MatchString(sum):
			v.errorf("binaries.sha256."+name, fmt.Sprintf("give the 64 hex digits of `sha256sum %s` (the release publishes %s.sha256), or omit it", name, c.OS.BinaryURL(c.Binaries.BaseURL, c.Kubernetes.Version, osprofile.DefaultArch, name)), "%q is not a SHA-256 digest", e[1])
		default:
			c.Binaries.SHA256[name] = sum
		}
	}
	if len(missing) > 0 {
		example := c.OS.BinaryURL(c.Binaries.BaseURL, c.Kubernetes.Version, osprofile.DefaultArch, missing[0])
		v.warnf("binaries.sha256", "give binaries.sha256."+strings.Join(missing, ", binaries.sha256.")+" (the release publishes a .sha256 next to each file, e.g. "+example+".sha256)", "no SHA-256 for %s: Ignition trusts those downloads by TLS only", strings.Join(missing, ", "))
	}
}

// httpURL reports whether s is an absolute http(s) URL with a host.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
