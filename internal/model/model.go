package model

import (
	"net/netip"
	"slices"
	"time"
)

// Role is what a node does in the cluster.
type Role string

const (
	ControlPlane Role = "control-plane"
	Worker       Role = "worker"
)

// Roles is every role, the one list that says which exist.
var Roles = []Role{ControlPlane, Worker}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// HoldsCAKeys reports whether a node of role r receives the cluster's CA keys, so that its config
// must be guarded (served only by MAC, once). A role this build does not know counts as holding them.
func (r Role) HoldsCAKeys() bool { return r != Worker }

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
	Profile string // OS profile, e.g. "flatcar"

	Kubernetes Kubernetes
	Endpoint   Endpoint
	VRRP       VRRP
	Network    Network
	SSHKeys    []string
	Images     Images
	Sysext     Sysext
	PXE        PXE
	Snippets   []Snippet
	Nodes      []Node
}

// VM is how a node runs as a libvirt/QEMU virtual machine.
type VM struct {
	MemoryMiB int
	CPUs      int
	Network   string // libvirt network name
	Image     string // Flatcar QEMU image: the backing file of the node's qcow2 disk
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
	Port     int // HAProxy frontend on every control-plane node
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
}

// Sysext locates the Flatcar sysext-bakery Kubernetes image.
type Sysext struct {
	BaseURL string // directory holding kubernetes-vX.Y.Z-x86-64.raw
	SHA256  string // lower-case hex of the image, checked by Ignition; empty: TLS only
}

// Node is one machine.
type Node struct {
	Name string
	Role Role
	IP   netip.Addr
	MAC  string // lower-case colon form, empty if unknown
	Init bool   // runs kubeadm init
	// Priority is keepalived's base priority (control-plane nodes only).
	Priority int
	VM       VM // the top-level vm section with this node's overrides
}

// ControlPlanes returns the control-plane nodes in file order.
func (c *Cluster) ControlPlanes() []Node {
	var out []Node
	for _, n := range c.Nodes {
		if n.Role == ControlPlane {
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
)

// Phase returns how n enters the cluster.
func (n Node) Phase() Phase {
	switch {
	case n.Init:
		return PhaseInit
	case n.Role == ControlPlane:
		return PhaseJoinControlPlane
	default:
		return PhaseJoinWorker
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
