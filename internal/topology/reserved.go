package topology

import (
	"fmt"
	"net/netip"

	"github.com/ignigen/ignigen/internal/model"
)

// reserved checks controlPlane.reservedIPs and controlPlane.reservedLoadBalancerIPs: addresses
// of control-plane and load-balancer nodes to be added later, which must be free addresses of the
// node network, each reserved once.
func (v *validator) reserved(cp *ControlPlaneSpec, c *model.Cluster) (controlPlane, loadBalancers []netip.Addr) {
	used := map[netip.Addr]string{}
	for _, n := range c.Nodes {
		used[n.IP] = "node " + n.Name + "'s"
	}
	check := func(field string, specs []string) []netip.Addr {
		var out []netip.Addr
		for i, s := range specs {
			p := fmt.Sprintf("controlPlane.%s.%d", field, i)
			a := v.addr(p, s)
			if !a.IsValid() {
				continue
			}
			v.inNetwork(p, a, c.Network.CIDR, "reserved address")
			switch owner, taken := used[a]; {
			case a == c.Endpoint.VIP:
				v.errorf(p, "reserve an address no machine uses", "reserved address %s is the VIP", a)
			case a == c.Network.Gateway:
				v.errorf(p, "reserve an address no machine uses", "reserved address %s is the gateway's", a)
			case taken && owner == "reserved":
				v.errorf(p, "reserve each address once, for the role of the node that will have it", "address %s is reserved twice", a)
			case taken:
				v.errorf(p, "remove it from "+field+": a node that has it is already a member (keep reserving only the free ones)", "reserved address %s is already %s", a, owner)
			default:
				used[a] = "reserved"
				out = append(out, a)
			}
		}
		return out
	}
	controlPlane = check("reservedIPs", cp.ReservedIPs)
	loadBalancers = check("reservedLoadBalancerIPs", cp.ReservedLoadBalancerIPs)
	if len(cp.ReservedLoadBalancerIPs) > 0 && !c.ExternalLB {
		v.errorf("controlPlane.reservedLoadBalancerIPs", "reserve future control-plane nodes in controlPlane.reservedIPs, or set `controlPlane.loadBalancer: external` to have load-balancer nodes", "a stacked control plane has no load-balancer nodes to reserve addresses for")
	}
	return controlPlane, loadBalancers
}
