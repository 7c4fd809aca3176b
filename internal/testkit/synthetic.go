package testkit

import (
	"fmt"
	"strings"
)

// SyntheticTopology is a cluster of n nodes in a /16 for benchmarks: 3 control-plane nodes with
// MACs, then workers without (the common large case: DHCP or hand-started VMs).
func SyntheticTopology(n int) []byte {
	var b strings.Builder
	b.WriteString(`apiVersion: ignigen.io/v1alpha1
kind: Topology
cluster: {name: bench}
controlPlane: {vip: 10.1.0.2}
network: {cidr: 10.1.0.0/16, gateway: 10.1.0.1, dns: [10.1.0.1]}
ssh: {authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINgSYnmsur6ApeOWg47YLJciko/wUJqooIMvu0oXt6ea bench"]}
nodes:
`)
	for i := range n {
		if i < 3 {
			fmt.Fprintf(&b, "  - {name: node%d, role: control-plane, ip: 10.1.%d.%d, mac: \"52:54:00:01:00:%02x\"}\n", i, 1+i/250, 1+i%250, i)
			continue
		}
		fmt.Fprintf(&b, "  - {name: node%d, role: worker, ip: 10.1.%d.%d}\n", i, 1+i/250, 1+i%250)
	}
	return []byte(b.String())
}
