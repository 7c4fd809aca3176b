package build

import (
	"net/netip"
	"slices"

	"github.com/ignigen/ignigen/internal/manifest"
	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/secrets"
)

// Membership is what a running cluster fixed at its nodes' first boot and can never learn again
// (Ignition runs once): the endpoint, the VRRP instance, and every address its VIP holders list as
// peers and its HAProxies as backends. The next build compares itself with it (internal/plan).
type Membership = manifest.Membership

// Load-balancing modes as the topology names them (controlPlane.loadBalancer).
const (
	Stacked  = "stacked"
	External = "external"
)

func newMembership(c *model.Cluster, b *secrets.Bundle) *Membership {
	mode := Stacked
	if c.ExternalLB {
		mode = External
	}
	return &Membership{
		CAHash: b.DiscoveryHash(), VIP: c.Endpoint.VIP.String(), Port: c.Endpoint.Port, BindPort: c.Endpoint.BindPort,
		LoadBalancing: mode, VRRPVersion: c.VRRP.Version, RouterID: c.VRRP.RouterID,
		VRRPPeers:  addresses(c.Balancers(), c.ReservedBalancers()),
		APIServers: addresses(c.APIServers(), c.ReservedControlPlane),
	}
}

// addresses lists nodes' and reserved addresses in address order, as the node configs do.
func addresses(nodes []model.Node, reserved []netip.Addr) []string {
	all := slices.Clone(reserved)
	for _, n := range nodes {
		all = append(all, n.IP)
	}
	slices.SortFunc(all, func(a, b netip.Addr) int { return a.Compare(b) })
	all = slices.Compact(all)
	out := make([]string, len(all))
	for i, a := range all {
		out[i] = a.String()
	}
	return out
}
