package model

import (
	"net/netip"
	"slices"
	"time"

	"github.com/ignigen/ignigen/internal/osprofile"
)

// KeyAlgorithm names a kubeadm encryptionAlgorithm.
type KeyAlgorithm string

const (
	ECDSAP256 KeyAlgorithm = "ECDSA-P256"
	RSA2048   KeyAlgorithm = "RSA-2048"
)

// KeyAlgorithms is every key algorithm a topology may name (pki's key table covers each).
var KeyAlgorithms = []KeyAlgorithm{ECDSAP256, RSA2048}

// Valid reports whether a is one of KeyAlgorithms.
func (a KeyAlgorithm) Valid() bool { return slices.Contains(KeyAlgorithms, a) }

// CNI names the network plugin installed after kubeadm init.
type CNI string

const (
	CNICilium CNI = "cilium"
	CNINone   CNI = "none"
)

// Cluster is a topology after validation and defaulting: every field is set and consistent.
type Cluster struct {
	Name    string
	Profile string             // OS profile, e.g. "flatcar"
	OS      *osprofile.Profile // the profile's data (profiles/<name>/profile.yaml)
	// Initialized: the cluster exists, so no node has the init phase.
	Initialized bool

	Kubernetes Kubernetes
	Runtime    Runtime // the container runtime of the Kubernetes members (runtime.go)
	Endpoint   Endpoint
	VRRP       VRRP
	Network    Network
	SSHKeys    []string
	Images     Images
	Sysext     Sysext
	Binaries   Binaries
	PXE        PXE
	Snippets   []Snippet
	Nodes      []Node
	// ReservedControlPlane and ReservedLoadBalancers are addresses of nodes to be added later:
	// every HAProxy already lists the control-plane ones as backends and every VIP holder the
	// future VIP holders' as VRRP peers (one that is not there yet is harmless), so a node booted
	// there later joins without splitting the VIP and without a running node's config changing.
	ReservedControlPlane  []netip.Addr
	ReservedLoadBalancers []netip.Addr // external balancing only
	// ExternalLB: the cluster has load-balancer nodes; they, not the control plane, hold the VIP
	// and run HAProxy.
	ExternalLB bool
	Management ManagementSettings
}

// ManagementSettings configures management nodes.
type ManagementSettings struct {
	// AdminCredential gives each management node a client certificate of its own (group
	// ManagementGroup, bound to cluster-admin at init), never the operator's admin key.
	AdminCredential bool
}

// ManagementGroup is the group of management nodes' client certificates.
const ManagementGroup = "ignigen:management"

// VM is how a node runs as a libvirt/QEMU virtual machine.
type VM struct {
	MemoryMiB int
	CPUs      int
	Network   string // libvirt network name
	Image     string // the OS's QEMU image: the backing file of the node's qcow2 disk
	DiskDir   string // directory for the node's disk and config copy
}

// PXE is what a node's iPXE script boots. URLs are http(s) URLs or absolute paths on the server.
type PXE struct {
	KernelURL  string
	InitrdURLs []string
	ExtraArgs  []string
}

// Kubernetes holds the kubeadm-facing settings.
type Kubernetes struct {
	Version       string // v1.MINOR.PATCH
	Minor         string // v1.MINOR, for the sysupdate channel
	PodCIDR       netip.Prefix
	ServiceCIDR   netip.Prefix
	DNSDomain     string
	CNI           CNI
	CiliumVersion string
	KeyAlgorithm  KeyAlgorithm
	TokenTTL      time.Duration
}

// Endpoint is the API address clients use: the VIP and HAProxy's port, and where kube-apiserver binds.
type Endpoint struct {
	VIP      netip.Addr
	Port     int // HAProxy frontend on every balancing node
	BindPort int // kube-apiserver on every control-plane node
}

// HostPort is the control-plane endpoint as kubeadm wants it.
func (e Endpoint) HostPort() string { return netip.AddrPortFrom(e.VIP, uint16(e.Port)).String() }

// URL is the API server URL behind the VIP.
func (e Endpoint) URL() string { return "https://" + e.HostPort() }

// VRRP configures keepalived.
type VRRP struct {
	Version        int           // 3 (centisecond adverts, no authentication) or 2 (whole seconds, PASS auth)
	RouterID       int           // 1..255
	AdvertInterval time.Duration // VRRPv3 allows centiseconds
	Preempt        bool
}

// Network is the node network shared by every node.
type Network struct {
	CIDR      netip.Prefix
	Gateway   netip.Addr
	DNS       []netip.Addr
	Interface string
}

// Images are the container images run by Podman on control-plane nodes.
type Images struct {
	Keepalived string
	HAProxy    string
	CiliumCLI  string
	Helm       string // run by management nodes' helm wrapper
}

// Sysext locates the Kubernetes sysext image (its name comes from the profile).
type Sysext struct {
	BaseURL string // directory holding the profile's Kubernetes image
	SHA256  string // lower-case hex of the image, checked by Ignition; empty: TLS only
}

// Binaries locates the Kubernetes binaries of a profile with kubernetes.source binaries (their
// names and URL pattern come from the profile).
type Binaries struct {
	BaseURL string            // the {baseURL} of the profile's URL pattern
	SHA256  map[string]string // file name -> lower-case hex, checked by Ignition; absent: TLS only
}

// Node is one machine.
type Node struct {
	Name string
	Role Role
	IP   netip.Addr
	MAC  string // lower-case colon form, empty if unknown
	Init bool   // runs kubeadm init
	// Priority is keepalived's base priority (balancing nodes only).
	Priority int
	VM       VM // the top-level vm section with this node's overrides
}

// APIServers returns the nodes that run kube-apiserver and etcd, in file order: HAProxy's backends.
func (c *Cluster) APIServers() []Node {
	return c.nodesWhere(func(n Node) bool { return n.Role.Spec().APIServer })
}

// Balancers returns the nodes that hold the VIP and run HAProxy, in file order: the VRRP peers.
func (c *Cluster) Balancers() []Node {
	return c.nodesWhere(func(n Node) bool { return n.Role.Balances(c.ExternalLB) })
}

// ReservedBalancers are the reserved addresses of future VIP holders: control-plane slots when
// the control plane balances (stacked), load-balancer slots when load-balancer nodes do.
func (c *Cluster) ReservedBalancers() []netip.Addr {
	if c.ExternalLB {
		return c.ReservedLoadBalancers
	}
	return c.ReservedControlPlane
}

// ManagementCredentials reports whether management nodes get client certificates of their own.
func (c *Cluster) ManagementCredentials() bool {
	return c.Management.AdminCredential && len(c.NodesOf(Management)) > 0
}

// Slots are the addresses of the VIP group and the API servers, present and reserved, in
// address order: keepalived priorities are ranked over them, so they do not move when a node is
// added at a reserved address or listed in another order.
func (c *Cluster) Slots() []netip.Addr {
	var out []netip.Addr
	for _, n := range c.Nodes {
		if n.Role.Balances(c.ExternalLB) || n.Role.Spec().APIServer {
			out = append(out, n.IP)
		}
	}
	out = append(out, c.ReservedControlPlane...)
	out = append(out, c.ReservedLoadBalancers...)
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(out)
}

// NodesOf returns the nodes of role r, in file order.
func (c *Cluster) NodesOf(r Role) []Node {
	return c.nodesWhere(func(n Node) bool { return n.Role == r })
}

func (c *Cluster) nodesWhere(keep func(Node) bool) []Node {
	var out []Node
	for _, n := range c.Nodes {
		if keep(n) {
			out = append(out, n)
		}
	}
	return out
}

// Phase is how a node enters the cluster.
type Phase string

const (
	PhaseInit             Phase = "init"
	PhaseJoinControlPlane Phase = "join-control-plane"
	PhaseJoinWorker       Phase = "join-worker"
	PhaseNone             Phase = "none" // not a Kubernetes member: nothing to join
)

// Phase returns how n enters the cluster, read from its role's spec.
func (n Node) Phase() Phase {
	s := n.Role.Spec()
	switch {
	case n.Init:
		return PhaseInit
	case s.APIServer:
		return PhaseJoinControlPlane
	case s.Kubernetes:
		return PhaseJoinWorker
	default:
		return PhaseNone
	}
}

// Snippet is an operator's own Butane config, merged as the last layer of the nodes it selects.
type Snippet struct {
	File   string   // as written in the topology, relative to it
	Roles  []Role   // empty: every role
	Nodes  []string // empty: every node of those roles
	Source []byte
}

// AppliesTo reports whether the snippet is part of n's stack.
func (s Snippet) AppliesTo(n Node) bool {
	return (len(s.Roles) == 0 || slices.Contains(s.Roles, n.Role)) && (len(s.Nodes) == 0 || slices.Contains(s.Nodes, n.Name))
}
