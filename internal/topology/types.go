package topology

// APIVersion and Kind identify a topology file.
const (
	APIVersion = "ignigen.io/v1alpha1"
	Kind       = "Topology"
)

// File is the on-disk topology, decoded strictly. Pointers mark fields whose zero value is meaningful,
// so that "unset" (take the default) differs from an explicit 0 or false (validate it).
type File struct {
	APIVersion   string           `yaml:"apiVersion"`
	Kind         string           `yaml:"kind"`
	Cluster      ClusterSpec      `yaml:"cluster"`
	Kubernetes   KubernetesSpec   `yaml:"kubernetes"`
	ControlPlane ControlPlaneSpec `yaml:"controlPlane"`
	Network      NetworkSpec      `yaml:"network"`
	SSH          SSHSpec          `yaml:"ssh"`
	Images       ImagesSpec       `yaml:"images"`
	Sysext       SysextSpec       `yaml:"sysext"`
	Binaries     BinariesSpec     `yaml:"binaries"`
	VM           VMSpec           `yaml:"vm"`
	PXE          PXESpec          `yaml:"pxe"`
	Management   ManagementSpec   `yaml:"management"`
	Snippets     []SnippetSpec    `yaml:"snippets"`
	Nodes        []NodeSpec       `yaml:"nodes"`
}

type ClusterSpec struct {
	Name        string `yaml:"name"`
	Profile     string `yaml:"profile"`
	Initialized *bool  `yaml:"initialized"`
}

type KubernetesSpec struct {
	Version       string `yaml:"version"`
	PodCIDR       string `yaml:"podCIDR"`
	ServiceCIDR   string `yaml:"serviceCIDR"`
	DNSDomain     string `yaml:"dnsDomain"`
	CNI           string `yaml:"cni"`
	CiliumVersion string `yaml:"ciliumVersion"`
	KeyAlgorithm  string `yaml:"keyAlgorithm"`
	TokenTTL      string `yaml:"tokenTTL"`
	// Runtime is the container runtime (one of the OS profile's runtimes); RuntimeVersion the
	// release of one the profile installs as a sysext.
	Runtime        string `yaml:"runtime"`
	RuntimeVersion string `yaml:"runtimeVersion"`
}

type ControlPlaneSpec struct {
	VIP          string   `yaml:"vip"`
	LoadBalancer string   `yaml:"loadBalancer"`
	ReservedIPs  []string `yaml:"reservedIPs"`
	// ReservedLoadBalancerIPs are future load-balancer nodes' addresses (external balancing).
	ReservedLoadBalancerIPs []string `yaml:"reservedLoadBalancerIPs"`
	Port                    *int     `yaml:"port"`
	BindPort                *int     `yaml:"bindPort"`
	VRRP                    VRRPSpec `yaml:"vrrp"`
}

type VRRPSpec struct {
	Version        *int   `yaml:"version"`
	RouterID       *int   `yaml:"routerID"`
	AdvertInterval string `yaml:"advertInterval"`
	Preempt        *bool  `yaml:"preempt"`
}

type NetworkSpec struct {
	CIDR      string   `yaml:"cidr"`
	Gateway   string   `yaml:"gateway"`
	DNS       []string `yaml:"dns"`
	Interface string   `yaml:"interface"`
}

type SSHSpec struct {
	AuthorizedKeys []string `yaml:"authorizedKeys"`
}

type ImagesSpec struct {
	Keepalived string `yaml:"keepalived"`
	HAProxy    string `yaml:"haproxy"`
	CiliumCLI  string `yaml:"ciliumCLI"`
	Helm       string `yaml:"helm"`
}

// ManagementSpec configures the management nodes.
type ManagementSpec struct {
	AdminCredential *bool `yaml:"adminCredential"`
}

type SysextSpec struct {
	BaseURL string `yaml:"baseURL"`
	SHA256  string `yaml:"sha256"`
	// RuntimeSHA256 checks the container runtime's image (a runtime installed as a sysext).
	RuntimeSHA256 string `yaml:"runtimeSHA256"`
}

// BinariesSpec locates the Kubernetes binaries of a profile whose kubernetes.source is binaries.
type BinariesSpec struct {
	BaseURL string         `yaml:"baseURL"`
	SHA256  BinariesSHA256 `yaml:"sha256"`
}

// BinariesSHA256 are the digests of the three files such a profile downloads.
type BinariesSHA256 struct {
	Kubeadm string `yaml:"kubeadm"`
	Kubelet string `yaml:"kubelet"`
	Kubectl string `yaml:"kubectl"`
}

// byName lists the digests by file name, in the order kubeadm, kubelet, kubectl.
func (s BinariesSHA256) byName() [][2]string {
	return [][2]string{{"kubeadm", s.Kubeadm}, {"kubelet", s.Kubelet}, {"kubectl", s.Kubectl}}
}

type NodeSpec struct {
	Name string `yaml:"name"`
	Role string `yaml:"role"`
	IP   string `yaml:"ip"`
	MAC  string `yaml:"mac"`
	Init *bool  `yaml:"init"`
	VM   VMSpec `yaml:"vm"` // overrides the top-level vm section for this node
}

// VMSpec describes how `ignigen build` starts nodes as libvirt/QEMU VMs (cluster.sh, virt-install).
type VMSpec struct {
	MemoryMiB *int   `yaml:"memoryMiB"`
	CPUs      *int   `yaml:"cpus"`
	Network   string `yaml:"network"` // libvirt network name
	Image     string `yaml:"image"`   // Flatcar QEMU image, the qcow2 backing file
	DiskDir   string `yaml:"diskDir"` // where copy-on-write disks and configs are put
}

// PXESpec is what `ignigen serve` puts in each node's iPXE script.
type PXESpec struct {
	KernelURL  string   `yaml:"kernelURL"`
	InitrdURLs []string `yaml:"initrdURLs"`
	ExtraArgs  []string `yaml:"extraArgs"`
}

type SnippetSpec struct {
	File  string   `yaml:"file"`
	Roles []string `yaml:"roles"`
	Nodes []string `yaml:"nodes"`
}
