package model

import "slices"

// Role is what a node does in the cluster.
type Role string

const (
	ControlPlane Role = "control-plane"
	Worker       Role = "worker"
	LoadBalancer Role = "load-balancer"
	Management   Role = "management"
)

// Balancing says when a role's nodes run keepalived (the VIP) and HAProxy (the API load balancer).
type Balancing int

const (
	BalancesNever   Balancing = iota
	BalancesStacked           // only in a cluster without load-balancer nodes
	BalancesAlways
)

// RoleSpec is everything that varies by role. Every decision that depends on a node's kind reads
// this table, as kubeadm's certificate list does for certificates: a new role is a new row.
type RoleSpec struct {
	Role Role
	// Layers are the profile layers of the role, between "base" and the node's phase layer.
	// The load-balancer layer is added where Balances says so, not listed here.
	Layers []string
	// Kubernetes: kubelet, containerd and the Kubernetes sysext run, and the node joins with kubeadm.
	Kubernetes bool
	// APIServer: kube-apiserver and etcd run here (a kubeadm control-plane node); HAProxy balances over these.
	APIServer bool
	// Balances: the node is a VRRP peer holding the VIP and runs HAProxy.
	Balances Balancing
	// CASet: the node receives the cluster's CA keys and the service-account key.
	CASet bool
	// BootstrapToken: the node's config holds the bootstrap token (to create it, or to join).
	BootstrapToken bool
	// Kubectl: kubectl and helm for operators, and a kubeconfig for the VIP.
	Kubectl bool
	// AdminCredential: the node may receive a client certificate of its own (management.adminCredential).
	AdminCredential bool
}

// RoleTable is the one list of roles. Its order is the order roles are listed in messages.
var RoleTable = []RoleSpec{
	{Role: ControlPlane, Layers: []string{"kubernetes", "control-plane"}, Kubernetes: true, APIServer: true, Balances: BalancesStacked, CASet: true, BootstrapToken: true},
	{Role: Worker, Layers: []string{"kubernetes", "worker"}, Kubernetes: true, BootstrapToken: true},
	{Role: LoadBalancer, Layers: nil, Balances: BalancesAlways},
	{Role: Management, Layers: []string{"management"}, Kubectl: true, AdminCredential: true},
}

// Roles is every role, in table order.
var Roles = func() []Role {
	out := make([]Role, len(RoleTable))
	for i, s := range RoleTable {
		out[i] = s.Role
	}
	return out
}()

// Spec returns r's row; a role the table does not have gets the zero spec (nothing).
func (r Role) Spec() RoleSpec {
	for _, s := range RoleTable {
		if s.Role == r {
			return s
		}
	}
	return RoleSpec{Role: r}
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Guarded reports whether a config of role r must be served only by MAC and only once: it holds
// the CA keys, or may hold an admin credential. A role this build does not know is guarded.
func (r Role) Guarded() bool {
	s := r.Spec()
	return !r.Valid() || s.CASet || s.AdminCredential
}

// Balances reports whether a node of role r runs keepalived and HAProxy in a cluster whose
// balancing is external (it has load-balancer nodes) or stacked (it has none).
func (r Role) Balances(external bool) bool {
	switch r.Spec().Balances {
	case BalancesAlways:
		return true
	case BalancesStacked:
		return !external
	}
	return false
}

// RolesWhere lists the roles whose spec satisfies keep, in table order (for messages and checks).
func RolesWhere(keep func(RoleSpec) bool) []Role {
	var out []Role
	for _, s := range RoleTable {
		if keep(s) {
			out = append(out, s.Role)
		}
	}
	return out
}
