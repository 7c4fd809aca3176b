package topology

import (
	"strings"

	"github.com/ignigen/ignigen/internal/model"
)

// fieldDoc describes one field of the topology types for the JSON Schema (`ignigen schema`).
// Exactly one of Default, Required and NoDefault says what happens when the field is omitted;
// schema_test.go checks each against the parser, so this table cannot drift from it.
type fieldDoc struct {
	Desc      string
	Default   any    // the value the parser takes when the field is omitted
	Required  bool   // the parser reports the field missing
	NoDefault string // why there is no fixed default, said in words (e.g. "derived from cluster.name")
	Enum      []any  // the only values the parser accepts (for lists: of each item)
}

// fieldDocs is keyed by Go type and field name, e.g. "VMSpec.CPUs": a type used in two places
// (vm and nodes[].vm) is described once. Defaults come from defaults.go, enums from model.
var fieldDocs = map[string]fieldDoc{
	"File.APIVersion":   {Desc: "Version of the topology format.", Required: true, Enum: []any{APIVersion}},
	"File.Kind":         {Desc: "Kind of file.", Required: true, Enum: []any{Kind}},
	"File.Cluster":      {Desc: "The cluster's name and OS profile.", Required: true},
	"File.Kubernetes":   {Desc: "Kubernetes release, networks, CNI and key algorithm.", NoDefault: "each field has its own default"},
	"File.ControlPlane": {Desc: "The API endpoint: a virtual IP that keepalived floats between the control-plane nodes (or the load-balancer nodes), HAProxy in front of kube-apiserver.", Required: true},
	"File.Management":   {Desc: "Settings of the management nodes (role management).", NoDefault: "each field has its own default"},
	"File.Network":      {Desc: "The node network.", Required: true},
	"File.SSH":          {Desc: "Logins for user core on every node.", NoDefault: "no keys: nobody can log in (a warning)"},
	"File.Images":       {Desc: "Container images run on the nodes, each pinned to a tag or digest (never latest, never without a tag).", NoDefault: "each field has its own default"},
	"File.Sysext":       {Desc: "Where nodes download the Kubernetes system extension image (and the container runtime's, when it is one).", NoDefault: "each field has its own default"},
	"File.Binaries":     {Desc: "Where nodes download kubeadm, kubelet and kubectl, for a profile whose Kubernetes comes as plain binaries (fcos); ignored by sysext profiles (flatcar).", NoDefault: "each field has its own default"},
	"File.VM":           {Desc: "libvirt/QEMU VMs: cluster.sh and NODE.virt-install.sh in the build output.", NoDefault: "each field has its own default"},
	"File.PXE":          {Desc: "What `ignigen serve` puts in each node's iPXE script.", NoDefault: "each field has its own default"},
	"File.Snippets":     {Desc: "Your own Butane files, merged as the last layer into the configs of the nodes they select.", NoDefault: "no snippets"},
	"File.Nodes":        {Desc: "The machines. The first control-plane node runs kubeadm init unless one says init: true.", Required: true},

	"ClusterSpec.Name":        {Desc: "RFC 1123 label; kubeadm's clusterName; seeds the VRRP router ID.", Required: true},
	"ClusterSpec.Initialized": {Desc: "true once the cluster exists: no node runs kubeadm init, every control-plane node joins (rebuilds after the first boot, so a re-provisioned node can never start a second cluster).", Default: false},
	"ClusterSpec.Profile":     {Desc: "OS profile: a directory under profiles/ (embedded: " + strings.Join(EmbeddedProfiles, ", ") + "), or one in $IGNIGEN_PROFILE_PATH.", Default: DefaultProfile},

	"KubernetesSpec.Version":        {Desc: "Kubernetes release as v1.MINOR.PATCH, v1.31 or later (kubeadm v1beta4).", Default: DefaultKubernetesVersion},
	"KubernetesSpec.PodCIDR":        {Desc: "Pod network (IPv4 CIDR); must not overlap the service or node network.", Default: DefaultPodCIDR},
	"KubernetesSpec.ServiceCIDR":    {Desc: "Service network (IPv4 CIDR); must not overlap the pod or node network.", Default: DefaultServiceCIDR},
	"KubernetesSpec.DNSDomain":      {Desc: "Cluster DNS domain.", Default: DefaultDNSDomain},
	"KubernetesSpec.CNI":            {Desc: "cilium (installed after kubeadm init) or none (install a CNI yourself).", Default: DefaultCNI, Enum: []any{string(model.CNICilium), string(model.CNINone)}},
	"KubernetesSpec.CiliumVersion":  {Desc: "Cilium release as MAJOR.MINOR.PATCH.", Default: DefaultCiliumVersion},
	"KubernetesSpec.KeyAlgorithm":   {Desc: "Algorithm of every key of the cluster, and kubeadm's encryptionAlgorithm.", Default: DefaultKeyAlgorithm, Enum: enumOf(model.KeyAlgorithms)},
	"KubernetesSpec.TokenTTL":       {Desc: "Bootstrap token lifetime from kubeadm init, as a Go duration; 0s never expires (a warning).", Default: DefaultTokenTTL},
	"KubernetesSpec.Runtime":        {Desc: "Container runtime of the Kubernetes members, one the OS profile runs (its profile.yaml runtimes); on flatcar containerd (built in) or crio (the sysext-bakery's CRI-O image, the built-in containerd masked).", NoDefault: "the OS profile's default runtime (" + DefaultRuntime + " on " + DefaultProfile + ")", Enum: enumOf(Runtimes)},
	"KubernetesSpec.RuntimeVersion": {Desc: "Release of a runtime installed as a system extension (crio), as v1.MINOR.PATCH with Kubernetes' minor; the image is <runtime>-<version>-x86-64.raw under sysext.baseURL. Not allowed for a built-in runtime.", NoDefault: "required for crio; none for containerd"},

	"ControlPlaneSpec.VIP":                     {Desc: "API virtual IP: inside network.cidr, not a node's address, the gateway, the network or broadcast address.", Required: true},
	"ControlPlaneSpec.LoadBalancer":            {Desc: "stacked: the control-plane nodes hold the VIP and run HAProxy; external: the load-balancer nodes do. Must agree with the nodes.", NoDefault: "external if any node has role load-balancer, else stacked", Enum: []any{Stacked, External}},
	"ControlPlaneSpec.ReservedIPs":             {Desc: "Free addresses for control-plane nodes you will add later: every HAProxy lists them as backends (and, stacked, every VIP holder as VRRP peers) from the first boot, so a node added there joins without splitting the VIP or changing a running node's config. Reserve them in the first build: running nodes never learn new addresses.", Default: []any{}},
	"ControlPlaneSpec.ReservedLoadBalancerIPs": {Desc: "With `loadBalancer: external`: free addresses for load-balancer nodes you will add later; every VIP holder lists them as VRRP peers from the first boot.", Default: []any{}},
	"ControlPlaneSpec.Port":                    {Desc: "HAProxy's frontend port on the VIP: what clients use.", Default: DefaultPort},
	"ControlPlaneSpec.BindPort":                {Desc: "kube-apiserver's port on every control-plane node; stacked, it must differ from port.", NoDefault: "6444 stacked (HAProxy holds 6443 on the same nodes), 6443 external"},
	"ControlPlaneSpec.VRRP":                    {Desc: "keepalived's VRRP settings.", NoDefault: "each field has its own default"},

	"VRRPSpec.Version":        {Desc: "3: centisecond adverts, no authentication; 2: whole-second adverts, PASS authentication with the bundle's VRRP password.", Default: 3, Enum: []any{2, 3}},
	"VRRPSpec.RouterID":       {Desc: "VRRP router ID, 1-255; must be unique on the network segment.", NoDefault: "derived from cluster.name"},
	"VRRPSpec.AdvertInterval": {Desc: "Advert interval as a Go duration: a multiple of 10ms from 10ms to 40.95s (whole seconds for version 2).", Default: DefaultAdvertInterval},
	"VRRPSpec.Preempt":        {Desc: "true: the initialising node takes the VIP back when it returns.", Default: false},

	"NetworkSpec.CIDR":      {Desc: "The node network (IPv4 CIDR); every node IP and the VIP lie inside.", Required: true},
	"NetworkSpec.Gateway":   {Desc: "Default gateway, inside cidr.", Required: true},
	"NetworkSpec.DNS":       {Desc: "DNS servers (IPv4 addresses).", Required: true},
	"NetworkSpec.Interface": {Desc: "The interface systemd-networkd configures.", Default: DefaultInterface},

	"SSHSpec.AuthorizedKeys": {Desc: "Public key lines (as in ~/.ssh/id_ed25519.pub) for user core.", NoDefault: "no keys: nobody can log in (a warning)"},

	"ImagesSpec.Keepalived": {Desc: "keepalived image, which floats the VIP.", Default: DefaultKeepalived},
	"ImagesSpec.HAProxy":    {Desc: "HAProxy image, which balances the API over the control-plane nodes.", Default: DefaultHAProxy},
	"ImagesSpec.CiliumCLI":  {Desc: "cilium-cli image; runs `cilium install` on the init node.", Default: DefaultCiliumCLI},
	"ImagesSpec.Helm":       {Desc: "helm image, run by the helm wrapper (/opt/bin/helm) on management nodes.", Default: DefaultHelm},

	"ManagementSpec.AdminCredential": {Desc: "true: each management node gets a cluster-admin client certificate of its own (group ignigen:management, revocable by deleting the ClusterRoleBinding ignigen-management); false: its kubeconfig has no credential.", Default: false},

	"SysextSpec.BaseURL":       {Desc: "http(s) URL of the directory holding kubernetes-vX.Y.Z-x86-64.raw; mirror it for air-gapped sites.", Default: DefaultSysextBaseURL},
	"SysextSpec.SHA256":        {Desc: "SHA-256 of the image (64 hex digits): Ignition refuses a download that does not match.", NoDefault: "none: the download is trusted by TLS only"},
	"SysextSpec.RuntimeSHA256": {Desc: "SHA-256 of the container runtime's image (kubernetes.runtime crio), as sha256 is for the Kubernetes image.", NoDefault: "none: the download is trusted by TLS only"},

	"BinariesSpec.BaseURL":   {Desc: "http(s) URL the profile's download pattern starts with (fcos: BASE/vX.Y.Z/bin/linux/amd64/NAME, as the Kubernetes release publishes); mirror it for air-gapped sites.", Default: DefaultBinariesBaseURL},
	"BinariesSpec.SHA256":    {Desc: "SHA-256 of each binary: Ignition refuses a download that does not match.", NoDefault: "none: the downloads are trusted by TLS only (a warning)"},
	"BinariesSHA256.Kubeadm": {Desc: "SHA-256 of kubeadm (64 hex digits; the release's kubeadm.sha256).", NoDefault: "none"},
	"BinariesSHA256.Kubelet": {Desc: "SHA-256 of kubelet (64 hex digits; the release's kubelet.sha256).", NoDefault: "none"},
	"BinariesSHA256.Kubectl": {Desc: "SHA-256 of kubectl (64 hex digits; the release's kubectl.sha256).", NoDefault: "none"},

	"NodeSpec.Name": {Desc: "RFC 1123 label, unique; the host name and Kubernetes node name.", Required: true},
	"NodeSpec.Role": {Desc: "What the node runs.", Required: true, Enum: enumOf(model.Roles)},
	"NodeSpec.IP":   {Desc: "The node's IPv4 address, unique, inside network.cidr.", Required: true},
	"NodeSpec.MAC":  {Desc: "Unique unicast MAC: matches the interface, selects the node for PXE and libvirt.", NoDefault: "none: the interface is matched by name"},
	"NodeSpec.Init": {Desc: "true on exactly one control-plane node to make it run kubeadm init.", NoDefault: "the first control-plane node initialises"},
	"NodeSpec.VM":   {Desc: "This node's VM settings; each field omitted here takes the top-level vm section's value.", NoDefault: "the top-level vm section"},

	"VMSpec.MemoryMiB": {Desc: "RAM in MiB, 512 to 4194304; control-plane nodes want 2048 or more.", Default: DefaultVMMemoryMiB},
	"VMSpec.CPUs":      {Desc: "vCPUs, 1 to 255; control-plane nodes want 2 or more.", Default: DefaultVMCPUs},
	"VMSpec.Network":   {Desc: "libvirt network the nodes' MACs are attached to.", Default: DefaultVMNetwork},
	"VMSpec.Image":     {Desc: "Absolute path of the Flatcar QEMU image, the backing file of each node's qcow2.", Default: DefaultVMImage},
	"VMSpec.DiskDir":   {Desc: "Absolute path of the directory for copy-on-write disks and config copies.", Default: DefaultVMDiskDir},

	"PXESpec.KernelURL":  {Desc: "Kernel: an http(s) URL, or a path that `ignigen serve --assets DIR` serves.", Default: DefaultPXEKernelURL},
	"PXESpec.InitrdURLs": {Desc: "Initrds, each an http(s) URL or a path that `ignigen serve --assets DIR` serves.", Default: []any{DefaultPXEInitrdURL}},
	"PXESpec.ExtraArgs":  {Desc: "Extra kernel arguments, one per item, e.g. console=ttyS0; ignition.config.url and flatcar.first_boot are set by serve.", Default: []any{}},

	"SnippetSpec.File":  {Desc: "A Butane file (variant flatcar, version 1.1.0), relative to the topology.", Required: true},
	"SnippetSpec.Roles": {Desc: "Which roles get the snippet.", NoDefault: "every role", Enum: enumOf(model.Roles)},
	"SnippetSpec.Nodes": {Desc: "Names of the nodes that get the snippet.", NoDefault: "every node"},
}

// enumOf lists a model table's values for the schema, so the schema and the parser read one list.
func enumOf[T ~string](values []T) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}
