package osprofile

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/profiles"
)

// TestEmbeddedProfiles: every embedded profile loads, and Names finds exactly them (shared/ has
// no profile.yaml, so it is not one).
func TestEmbeddedProfiles(t *testing.T) {
	names, err := Names(profiles.FS)
	require.NoError(t, err)
	assert.Equal(t, []string{"fcos", "flatcar"}, names)
	for _, n := range names {
		p, err := Load(profiles.FS, n)
		require.NoError(t, err, n)
		assert.Equal(t, n, p.String())
	}
	fcos, err := Load(profiles.FS, "fcos")
	require.NoError(t, err)
	assert.Equal(t, "https://dl.k8s.io/release/v1.35.4/bin/linux/amd64/kubeadm", fcos.BinaryURL(fcos.Defaults.BinariesBaseURL, "v1.35.4", DefaultArch, "kubeadm"))
	assert.Equal(t, []string{"ignition.firstboot", "ignition.platform.id=metal",
		"coreos.live.rootfs_url=http://s:8080/assets/fedora-coreos-live-rootfs.x86_64.img", "ignition.config.url=U"},
		fcos.BootArgs("http://s:8080", "U"))
	assert.True(t, fcos.Reserved("coreos.live.rootfs_url=http://elsewhere/x.img"), "the profile sets it")
	assert.False(t, fcos.Reserved("console=ttyS0"))
}

// TestCheck: a profile.yaml ignigen could not use is refused when it loads, naming the field.
func TestCheck(t *testing.T) {
	const good = `butane: {variant: fcos, version: 1.5.0}
fwCfgKey: opt/x/config
boot: {configURLArg: ignition.config.url}
defaults: {vmImage: /i, pxeKernelURL: /k, pxeInitrdURLs: [/i], binariesBaseURL: http://m}
kubernetes: {source: binaries, files: [kubeadm, kubelet, kubectl], url: "{baseURL}/{version}/{name}", binDir: /usr/local/bin}
network: networkmanager
podman: builtin
user: {name: core, uid: 1000, home: /var/home/core}
runtimes: {default: containerd, containerd: {criSocket: "unix:///run/containerd/containerd.sock", service: containerd.service, install: builtin}}
`
	for _, tc := range []struct{ name, edit, want string }{
		{"good", "", ""},
		{"unknown field", "\nselinx: true", "field selinx not found"},
		{"unknown source", "kubernetes: {source: rpm, binDir: /b}", `kubernetes.source "rpm"`},
		{"binaries lack kubectl", "kubernetes: {source: binaries, files: [kubeadm, kubelet], url: \"{baseURL}/{version}/{name}\", binDir: /b}", "kubernetes.files"},
		{"binaries url lacks name", "kubernetes: {source: binaries, files: [kubeadm, kubelet, kubectl], url: \"{baseURL}/{version}\", binDir: /b}", "lacks {name}"},
		{"sysext without base URL", "kubernetes: {source: sysext, image: \"k-{version}.raw\", binDir: /b}", "defaults.sysextBaseURL is missing"},
		{"network", "network: wicked", `network "wicked"`},
		{"podman", "podman: rpm", `podman "rpm"`},
		{"updates", "updates: locksmith", `updates "locksmith"`},
		{"no binDir", "kubernetes: {source: binaries, files: [kubeadm, kubelet, kubectl], url: \"{baseURL}/{version}/{name}\"}", "kubernetes.binDir is missing"},
		{"runtime config without template", `runtimes: {default: containerd, containerd: {criSocket: "unix:///r.sock", service: c.service, install: builtin, config: {path: /etc/c.toml}}}`, "config needs an absolute path and a template"},
		{"templatesFrom itself", "templatesFrom: p", "names the profile itself"},
		{"templatesFrom unknown", "templatesFrom: nope", "templatesFrom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := good
			if tc.edit != "" {
				key, _, _ := strings.Cut(tc.edit, ":")
				var lines []string
				for _, l := range strings.Split(good, "\n") {
					if !strings.HasPrefix(l, key+":") {
						lines = append(lines, l)
					}
				}
				src = strings.Join(lines, "\n") + "\n" + tc.edit + "\n"
			}
			_, err := Load(fstest.MapFS{"p/profile.yaml": {Data: []byte(src)}}, "p")
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
