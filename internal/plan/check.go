package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ignigen/ignigen/internal/build"
	"github.com/ignigen/ignigen/internal/model"
)

// Problem is a change the running cluster cannot absorb, at the topology field that makes it.
type Problem struct {
	Path    string // topology field path, e.g. nodes.5.ip
	Message string
	Hint    string
}

// SameCluster reports whether next is a rebuild of prev's cluster (the same secrets bundle),
// whose running nodes the rebuild must not break.
func SameCluster(prev, next *build.Manifest) bool {
	return prev != nil && prev.Membership != nil && next.Membership != nil && prev.Membership.CAHash == next.Membership.CAHash
}

// Check lists what next changes that prev's running nodes cannot absorb: they keep their
// first-boot configs, so the endpoint, the VRRP instance, their peer and backend lists and their
// priorities are fixed. A node of next at an address they already list (present or reserved) is
// fine; one elsewhere would hold the VIP unseen by them (two VIP holders) or be no backend.
func Check(prev, next *build.Manifest) []Problem {
	if !SameCluster(prev, next) {
		return nil
	}
	p, n := prev.Membership, next.Membership
	var out []Problem
	fixed := func(path, what string, was, is any) {
		if fmt.Sprint(was) != fmt.Sprint(is) {
			out = append(out, Problem{Path: path,
				Message: fmt.Sprintf("%s changes from %v to %v, but running nodes keep %v (Ignition runs once)", what, was, is, was),
				Hint:    fmt.Sprintf("keep %v; a new value needs every node re-provisioned", was)})
		}
	}
	fixed("controlPlane.vip", "the VIP", p.VIP, n.VIP)
	fixed("controlPlane.port", "the API port on the VIP", p.Port, n.Port)
	fixed("controlPlane.bindPort", "kube-apiserver's port", p.BindPort, n.BindPort)
	fixed("controlPlane.loadBalancer", "the load balancing", p.LoadBalancing, n.LoadBalancing)
	fixed("controlPlane.vrrp.version", "the VRRP version", p.VRRPVersion, n.VRRPVersion)
	fixed("controlPlane.vrrp.routerID", "the VRRP router ID", p.RouterID, n.RouterID)

	running := map[string]build.NodeSummary{} // by address: priorities are ranked by address
	for _, rn := range prev.Nodes {
		running[rn.IP] = rn
	}
	reserveHint := func(field string, list []string) string {
		return fmt.Sprintf("use an address the running nodes already list (%s), or re-provision them one at a time and build with --allow-membership-change; reserve addresses for later nodes in %s before the first boot",
			strings.Join(list, ", "), field)
	}
	for i, nn := range next.Nodes {
		spec := model.Role(nn.Role).Spec()
		if nn.Priority > 0 && !slices.Contains(p.VRRPPeers, nn.IP) {
			out = append(out, Problem{Path: fmt.Sprintf("nodes.%d.ip", i),
				Message: fmt.Sprintf("node %q would hold the VIP at %s, which the running VIP holders do not list as a VRRP peer: it would not hear them and take the VIP too", nn.Name, nn.IP),
				Hint:    reserveHint(reservedField(n.LoadBalancing, spec), p.VRRPPeers)})
		}
		if spec.APIServer && !slices.Contains(p.APIServers, nn.IP) {
			out = append(out, Problem{Path: fmt.Sprintf("nodes.%d.ip", i),
				Message: fmt.Sprintf("node %q would run an API server at %s, which the running HAProxies do not list as a backend: they would never send it traffic", nn.Name, nn.IP),
				Hint:    reserveHint("controlPlane.reservedIPs", p.APIServers)})
		}
		if was, ok := running[nn.IP]; ok && was.Priority > 0 && nn.Priority > 0 && was.Priority != nn.Priority {
			out = append(out, Problem{Path: fmt.Sprintf("nodes.%d", i),
				Message: fmt.Sprintf("node %q's keepalived priority changes from %d to %d, but it keeps %d while it runs", nn.Name, was.Priority, nn.Priority, was.Priority),
				Hint:    "priorities rank the addresses of present and reserved VIP holders and API servers: keep a removed node's address in controlPlane.reservedIPs (or reservedLoadBalancerIPs) and reserve the same addresses as before"})
		}
	}
	return out
}

// reservedField names the topology field that reserves addresses for a node of spec's role.
func reservedField(mode string, spec model.RoleSpec) string {
	if mode == build.External && !spec.APIServer {
		return "controlPlane.reservedLoadBalancerIPs"
	}
	return "controlPlane.reservedIPs"
}
