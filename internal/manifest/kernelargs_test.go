package manifest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/osprofile"
	"github.com/ignigen/ignigen/profiles"
)

func TestKernelArgs(t *testing.T) {
	flatcar, err := osprofile.Load(profiles.FS, "flatcar")
	require.NoError(t, err)
	fcos, err := osprofile.Load(profiles.FS, "fcos")
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		os   *osprofile.Profile
		pxe  PXE
		want []string
	}{
		{"flatcar defaults", flatcar, PXE{InitrdURLs: []string{"/assets/flatcar_production_pxe_image.cpio.gz"}},
			[]string{"initrd=flatcar_production_pxe_image.cpio.gz", "flatcar.first_boot=1", "ignition.config.url=U"}},
		// The live rootfs is named relative to the server of the boot files ({base}).
		{"fcos defaults", fcos, PXE{InitrdURLs: fcos.Defaults.PXEInitrdURLs, ExtraArgs: []string{"console=ttyS0"}},
			[]string{"initrd=fedora-coreos-live-initramfs.x86_64.img", "ignition.firstboot", "ignition.platform.id=metal",
				"coreos.live.rootfs_url=B/assets/fedora-coreos-live-rootfs.x86_64.img", "ignition.config.url=U", "console=ttyS0"}},
		// iPXE names an initrd by its path's last element: a query string is not part of it.
		{"query string", flatcar, PXE{InitrdURLs: []string{"http://m/a/i.cpio.gz?v=2", "/x/oem.cpio"}, ExtraArgs: []string{"console=ttyS0"}},
			[]string{"initrd=i.cpio.gz", "initrd=oem.cpio", "flatcar.first_boot=1", "ignition.config.url=U", "console=ttyS0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, KernelArgs(tc.os, tc.pxe, "B", "U"))
		})
	}
}
