package plan

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ignigen/ignigen/internal/build"
)

// external is a running cluster with two load balancers (one reserved slot) and three API servers.
func external() *build.Manifest {
	return &build.Manifest{
		Nodes: []build.NodeSummary{
			{Name: "lb1", Role: "load-balancer", IP: "10.0.0.21", SHA256: "a", Priority: 200},
			{Name: "lb2", Role: "load-balancer", IP: "10.0.0.22", SHA256: "b", Priority: 150},
			{Name: "cp1", Role: "control-plane", IP: "10.0.0.31", SHA256: "c"},
			{Name: "w1", Role: "worker", IP: "10.0.0.51", SHA256: "d"},
		},
		Membership: &build.Membership{CAHash: "sha256:x", VIP: "10.0.0.30", Port: 6443, BindPort: 6443, LoadBalancing: build.External,
			VRRPVersion: 3, RouterID: 7, VRRPPeers: []string{"10.0.0.21", "10.0.0.22", "10.0.0.23"}, APIServers: []string{"10.0.0.31"}},
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(m *build.Manifest)
		paths []string
		hint  string
	}{
		{"nothing changed", func(*build.Manifest) {}, nil, ""},
		{"load balancer at the reserved address", func(m *build.Manifest) {
			m.Nodes = append(m.Nodes, build.NodeSummary{Name: "lb3", Role: "load-balancer", IP: "10.0.0.23", Priority: 100})
		}, nil, ""},
		{"load balancer elsewhere", func(m *build.Manifest) {
			m.Nodes = append(m.Nodes, build.NodeSummary{Name: "lb3", Role: "load-balancer", IP: "10.0.0.24", Priority: 100})
		}, []string{"nodes.4.ip"}, "controlPlane.reservedLoadBalancerIPs"},
		{"API server outside the backends", func(m *build.Manifest) {
			m.Nodes = append(m.Nodes, build.NodeSummary{Name: "cp2", Role: "control-plane", IP: "10.0.0.32"})
		}, []string{"nodes.4.ip"}, "controlPlane.reservedIPs"},
		{"a running node's priority moves", func(m *build.Manifest) { m.Nodes[1].Priority = 100 }, []string{"nodes.1"}, "reservedIPs"},
		{"router ID and bind port", func(m *build.Manifest) { m.Membership.RouterID, m.Membership.BindPort = 8, 6444 },
			[]string{"controlPlane.bindPort", "controlPlane.vrrp.routerID"}, "re-provisioned"},
		{"other secrets: a new cluster", func(m *build.Manifest) {
			m.Membership.CAHash, m.Membership.VIP = "sha256:y", "10.0.0.29"
		}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := external()
			tc.edit(next)
			var paths []string
			for _, p := range Check(external(), next) {
				paths = append(paths, p.Path)
				assert.Contains(t, p.Hint, tc.hint)
			}
			assert.Equal(t, tc.paths, paths)
		})
	}
	assert.Empty(t, Check(nil, external()), "a first build has nothing to protect")
	old := external()
	old.Membership = nil
	assert.Empty(t, Check(old, external()), "an older manifest records no membership")
}

func TestDiff(t *testing.T) {
	next := external()
	next.Nodes[0].SHA256 = "changed"
	next.Nodes = append(next.Nodes[:2], build.NodeSummary{Name: "w2", Role: "worker", IP: "10.0.0.52", File: "w2.ign"})
	var got []string
	for _, c := range Diff(external(), next) {
		got = append(got, c.Node+" "+string(c.Kind)+": "+c.Action)
	}
	assert.Equal(t, []string{
		"lb1 changed: a running node keeps its first-boot config: re-provision it to apply (one VIP holder or control-plane node at a time)",
		"lb2 unchanged: nothing",
		"w2 added: boot it from w2.ign",
		"cp1 removed: drain it, run `kubeadm reset --force` on it (removes its etcd member), shut it down, `kubectl delete node`",
		"w1 removed: drain it, shut it down, `kubectl delete node`",
	}, got)
}
