package topology

import (
	"slices"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/osprofile"
	"github.com/ignigen/ignigen/profiles"
)

// Defaults for every optional field. They are documented in README.md's topology reference;
// change both together.
const (
	DefaultProfile           = osprofile.Default
	DefaultKubernetesVersion = "v1.35.4"
	DefaultPodCIDR           = "10.244.0.0/16"
	DefaultServiceCIDR       = "10.96.0.0/12"
	DefaultDNSDomain         = "cluster.local"
	DefaultCNI               = "cilium"
	DefaultCiliumVersion     = "1.18.3"
	DefaultKeyAlgorithm      = "ECDSA-P256"
	// A week, not kubeadm's 24 h: nodes that boot days after the first one must still join.
	DefaultTokenTTL = "168h"
	DefaultPort     = 6443
	DefaultBindPort = 6444 // stacked: HAProxy holds 6443 on the same nodes
	// With load-balancer nodes the API servers keep kubeadm's own port.
	DefaultExternalBindPort = 6443
	DefaultVRRPVersion      = 3
	DefaultAdvertInterval   = "300ms" // VRRP version 3
	// VRRPv2 counts adverts in whole seconds; 1s is keepalived's own default.
	DefaultAdvertIntervalV2 = "1s"
	DefaultInterface        = "eth0"
	DefaultKeepalived       = "docker.io/osixia/keepalived:2.0.20"
	DefaultHAProxy          = "docker.io/library/haproxy:3.0.10-alpine"
	DefaultCiliumCLI        = "quay.io/cilium/cilium-cli:v0.18.7"
	DefaultHelm             = "docker.io/alpine/helm:3.19.0"
	// libvirt/QEMU VMs (vm section): kubeadm's preflight wants 2 CPUs and 1700 MB on control planes.
	DefaultVMMemoryMiB = 4096
	DefaultVMCPUs      = 2
	DefaultVMNetwork   = "default"
	DefaultVMDiskDir   = "/var/lib/libvirt/images/ignigen"
	// Oldest minor whose kubeadm reads v1beta4 and knows ECDSA-P256.
	MinKubernetesMinor = 31
)

// defaultOS is the default profile's data, read from the embedded profiles (never from
// $IGNIGEN_PROFILE_PATH), so the schema and the docs do not depend on the environment.
var defaultOS = mustLoad(osprofile.Default)

func mustLoad(name string) *osprofile.Profile {
	p, err := osprofile.Load(profiles.FS, name)
	if err != nil {
		panic(err) // the embedded profiles are tested; a bad one is a bug of this binary
	}
	return p
}

// The OS-specific defaults of the default profile (profiles/flatcar/profile.yaml), for the schema
// and messages; a topology with another profile gets that profile's.
var (
	DefaultSysextBaseURL = defaultOS.Defaults.SysextBaseURL
	// DefaultBinariesBaseURL is the default of binaries.baseURL, from the embedded fcos profile.
	DefaultBinariesBaseURL = mustLoad("fcos").Defaults.BinariesBaseURL
	// EmbeddedProfiles are the profiles this binary carries.
	EmbeddedProfiles = func() []string {
		names, err := osprofile.Names(profiles.FS)
		if err != nil {
			panic(err)
		}
		return names
	}()
	DefaultVMImage = defaultOS.Defaults.VMImage
	// PXE (pxe section): paths on `ignigen serve --assets DIR`, so nothing comes from the internet.
	DefaultPXEKernelURL = defaultOS.Defaults.PXEKernelURL
	DefaultPXEInitrdURL = defaultOS.Defaults.PXEInitrdURLs[0]
	// DefaultRuntime is the default profile's container runtime (its runtimes.default).
	DefaultRuntime = defaultOS.Runtimes.Default
	// Runtimes is every container runtime an embedded profile can run, for the schema.
	Runtimes = embeddedRuntimes()
)

func embeddedRuntimes() []string {
	names, err := osprofile.Names(profiles.FS)
	if err != nil {
		panic(err)
	}
	var out []string
	for _, n := range names {
		out = append(out, mustLoad(n).RuntimeNames()...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// defaultAdvertInterval is the advert interval for a VRRP version when none is written.
func defaultAdvertInterval(version int) string {
	if version == 2 {
		return DefaultAdvertIntervalV2
	}
	return DefaultAdvertInterval
}

// defaultVM is a node's VM before the vm section and its own nodes[].vm apply.
func defaultVM(os *osprofile.Profile) model.VM {
	return model.VM{
		MemoryMiB: DefaultVMMemoryMiB, CPUs: DefaultVMCPUs, Network: DefaultVMNetwork,
		Image: os.Defaults.VMImage, DiskDir: DefaultVMDiskDir,
	}
}
