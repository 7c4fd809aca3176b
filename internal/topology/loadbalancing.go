package topology

import (
	"fmt"
	"strings"

	"github.com/ignigen/ignigen/internal/model"
)

// Load-balancing modes of controlPlane.loadBalancer.
const (
	Stacked  = "stacked"  // the control-plane nodes hold the VIP and run HAProxy
	External = "external" // dedicated load-balancer nodes do
)

// loadBalancing decides who holds the VIP: load-balancer nodes if the topology has any, else
// the control plane. An explicit controlPlane.loadBalancer must agree with the nodes, so a
// load-balancer node added to a running stacked cluster (which would move the VIP) is refused.
func (v *validator) loadBalancing(f *File) bool {
	var lbs []int
	for i, n := range f.Nodes {
		if model.Role(n.Role).Spec().Balances == model.BalancesAlways {
			lbs = append(lbs, i)
		}
	}
	external := len(lbs) > 0
	lbRoles := strings.Join(roleNames(model.RolesWhere(func(s model.RoleSpec) bool { return s.Balances == model.BalancesAlways })), ", ")
	switch mode := f.ControlPlane.LoadBalancer; {
	case mode == "":
	case mode != Stacked && mode != External:
		v.errorf("controlPlane.loadBalancer", "use `stacked` (the control-plane nodes hold the VIP) or `external` (dedicated "+lbRoles+" nodes do), or omit it", "unknown load-balancer mode %q", mode)
	case mode == Stacked && external:
		v.errorf(fmt.Sprintf("nodes.%d.role", lbs[0]), "a cluster is stacked or external, never both: remove the "+lbRoles+" nodes, or set `controlPlane.loadBalancer: external` and let them hold the VIP (the control-plane nodes then run neither keepalived nor HAProxy)", "node %q is a %s, but controlPlane.loadBalancer is stacked", f.Nodes[lbs[0]].Name, f.Nodes[lbs[0]].Role)
	case mode == External && !external:
		// Reported at the nodes: the value is fine, the nodes it needs are missing.
		v.errorf("nodes", "add at least two nodes with `role: "+lbRoles+"`, or set `controlPlane.loadBalancer: stacked`", "controlPlane.loadBalancer is external, but no node is a %s", lbRoles)
	}
	if len(lbs) == 1 {
		v.warnf(fmt.Sprintf("nodes.%d.role", lbs[0]), "add a second "+lbRoles+" node: the VIP moves only between them", "node %q is the only %s: a single point of failure for the API", f.Nodes[lbs[0]].Name, lbRoles)
	}
	return external
}

// roleNames lists roles for a message.
func roleNames(rs []model.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}
