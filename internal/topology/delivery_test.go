package topology

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const deliveryBase = `apiVersion: ignigen.io/v1alpha1
kind: Topology
cluster: {name: tiny}
controlPlane: {vip: 10.0.0.10}
network: {cidr: 10.0.0.0/24, gateway: 10.0.0.1, dns: [10.0.0.1]}
ssh: {authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINgSYnmsur6ApeOWg47YLJciko/wUJqooIMvu0oXt6ea me"]}
`

func TestVMAndPXEDefaults(t *testing.T) {
	c, r, err := Parse("t.yaml", []byte(deliveryBase+`vm: {cpus: 4}
nodes:
  - {name: cp, role: control-plane, ip: 10.0.0.11}
  - {name: w, role: worker, ip: 10.0.0.12, vm: {memoryMiB: 1024, network: lab}}
`))
	require.NoError(t, err, r.String())
	assert.Empty(t, r.Entries, r.String())
	assert.Equal(t, 4, c.Nodes[0].VM.CPUs)
	assert.Equal(t, DefaultVMMemoryMiB, c.Nodes[0].VM.MemoryMiB)
	assert.Equal(t, DefaultVMNetwork, c.Nodes[0].VM.Network)
	assert.Equal(t, DefaultVMImage, c.Nodes[0].VM.Image)
	assert.Equal(t, DefaultVMDiskDir, c.Nodes[0].VM.DiskDir)
	assert.Equal(t, 4, c.Nodes[1].VM.CPUs, "inherits the vm section")
	assert.Equal(t, 1024, c.Nodes[1].VM.MemoryMiB)
	assert.Equal(t, "lab", c.Nodes[1].VM.Network)
	assert.Equal(t, DefaultPXEKernelURL, c.PXE.KernelURL)
	assert.Equal(t, []string{DefaultPXEInitrdURL}, c.PXE.InitrdURLs)
	assert.Empty(t, c.PXE.ExtraArgs)
}

func TestPXEExplicitNoInitrd(t *testing.T) {
	c, r, err := Parse("t.yaml", []byte(deliveryBase+`pxe: {kernelURL: "http://10.0.0.2/k", initrdURLs: [], extraArgs: [console=ttyS0]}
nodes: [{name: cp, role: control-plane, ip: 10.0.0.11}]
`))
	require.NoError(t, err, r.String())
	assert.Empty(t, c.PXE.InitrdURLs)
	assert.Equal(t, []string{"console=ttyS0"}, c.PXE.ExtraArgs)
}

func TestVMAndPXEDiagnostics(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string // want: "line:col path: message fragment"
		warning          bool
	}{
		{"memory", "vm: {memoryMiB: 100}\n", "7:17 vm.memoryMiB", false},
		{"cpus", "vm:\n  cpus: 0\n", "8:9 vm.cpus", false},
		{"network", "vm: {network: 'my net'}\n", "7:15 vm.network", false},
		{"relative image", "vm: {image: flatcar.img}\n", "7:13 vm.image", false},
		{"comma diskDir", "vm: {diskDir: '/a,b'}\n", "7:15 vm.diskDir", false},
		{"kernel url", "pxe: {kernelURL: 'ftp://x/k'}\n", "7:18 pxe.kernelURL", false},
		{"initrd path", "pxe: {initrdURLs: [assets/i]}\n", "7:20 pxe.initrdURLs.0", false},
		{"arg with space", "pxe: {extraArgs: ['a b']}\n", "7:19 pxe.extraArgs.0", false},
		{"arg set by serve", "pxe: {extraArgs: [ignition.config.url=x]}\n", "7:19 pxe.extraArgs.0", false},
		{"https warns", "pxe: {kernelURL: 'https://m/k'}\n", "7:18 pxe.kernelURL", true},
		{"small cp warns", "vm: {cpus: 1}\n", "7:12 vm.cpus", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := deliveryBase + tc.yaml + "nodes: [{name: cp, role: control-plane, ip: 10.0.0.11}]\n"
			_, r, err := Parse("t.yaml", []byte(src))
			if tc.warning {
				require.NoError(t, err, r.String())
			} else {
				require.Error(t, err)
			}
			pos, path, _ := strings.Cut(tc.want, " ")
			out := r.String()
			assert.Contains(t, out, "t.yaml:"+pos+": ")
			assert.Contains(t, out, "("+path+")")
		})
	}
}

func TestNodeVMOverrideDiagnostic(t *testing.T) {
	_, r, err := Parse("t.yaml", []byte(deliveryBase+"nodes:\n  - {name: cp, role: control-plane, ip: 10.0.0.11, vm: {cpus: 300}}\n"))
	require.Error(t, err)
	assert.Contains(t, r.String(), "nodes.0.vm.cpus")
}
