package topology

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/model"
)

func TestExampleIsValid(t *testing.T) {
	c, r, err := Parse("example.yaml", Example)
	require.NoError(t, err, r.String())
	assert.Empty(t, r.Entries, r.String())
	assert.Len(t, c.APIServers(), 3)
	assert.Equal(t, []string{"node1-cp"}, initNodes(c))
	assert.Equal(t, model.PhaseJoinControlPlane, c.Nodes[1].Phase())
	assert.Equal(t, model.PhaseJoinWorker, c.Nodes[4].Phase())
	assert.Equal(t, "192.168.122.30:6443", c.Endpoint.HostPort())
	assert.Equal(t, "v1.35", c.Kubernetes.Minor)
	assert.Equal(t, []int{200, 150, 50, 0, 0}, []int{c.Nodes[0].Priority, c.Nodes[1].Priority, c.Nodes[2].Priority, c.Nodes[3].Priority, c.Nodes[4].Priority})
}

func TestDefaults(t *testing.T) {
	src := []byte(`apiVersion: ignigen.io/v1alpha1
kind: Topology
cluster: {name: tiny}
controlPlane: {vip: 10.0.0.10}
network: {cidr: 10.0.0.0/24, gateway: 10.0.0.1, dns: [10.0.0.1]}
ssh: {authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINgSYnmsur6ApeOWg47YLJciko/wUJqooIMvu0oXt6ea me"]}
nodes:
  - {name: cp, role: control-plane, ip: 10.0.0.11}
`)
	c, r, err := Parse("t.yaml", src)
	require.NoError(t, err, r.String())
	assert.Equal(t, DefaultKubernetesVersion, c.Kubernetes.Version)
	assert.Equal(t, 6443, c.Endpoint.Port)
	assert.Equal(t, 6444, c.Endpoint.BindPort)
	assert.Equal(t, "10.244.0.0/16", c.Kubernetes.PodCIDR.String())
	assert.Equal(t, model.ECDSAP256, c.Kubernetes.KeyAlgorithm)
	assert.True(t, c.Nodes[0].Init)
	assert.Equal(t, routerID("tiny"), c.VRRP.RouterID)
	assert.GreaterOrEqual(t, c.VRRP.RouterID, 1)
}

// TestAdvertIntervalFollowsVersion: an unset advert interval suits the VRRP version written.
func TestAdvertIntervalFollowsVersion(t *testing.T) {
	for _, tc := range []struct {
		vrrp string
		want time.Duration
	}{
		{"{}", 300 * time.Millisecond},
		{"{version: 3}", 300 * time.Millisecond},
		{"{version: 2}", time.Second},
		{"{version: 2, advertInterval: 3s}", 3 * time.Second},
	} {
		src := []byte(`apiVersion: ignigen.io/v1alpha1
kind: Topology
cluster: {name: tiny}
controlPlane: {vip: 10.0.0.10, vrrp: ` + tc.vrrp + `}
network: {cidr: 10.0.0.0/24, gateway: 10.0.0.1, dns: [10.0.0.1]}
ssh: {authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINgSYnmsur6ApeOWg47YLJciko/wUJqooIMvu0oXt6ea me"]}
nodes:
  - {name: cp, role: control-plane, ip: 10.0.0.11}
`)
		c, r, err := Parse("t.yaml", src)
		require.NoError(t, err, "vrrp: %s\n%s", tc.vrrp, r.String())
		assert.Equal(t, tc.want, c.VRRP.AdvertInterval, "vrrp: %s", tc.vrrp)
	}
}

func TestMarkedInitWins(t *testing.T) {
	src := []byte(`apiVersion: ignigen.io/v1alpha1
kind: Topology
cluster: {name: tiny}
controlPlane: {vip: 10.0.0.10}
network: {cidr: 10.0.0.0/24, gateway: 10.0.0.1, dns: [10.0.0.1]}
ssh: {authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINgSYnmsur6ApeOWg47YLJciko/wUJqooIMvu0oXt6ea me"]}
nodes:
  - {name: a, role: control-plane, ip: 10.0.0.11}
  - {name: b, role: control-plane, ip: 10.0.0.12, init: true}
  - {name: c, role: control-plane, ip: 10.0.0.13}
`)
	c, r, err := Parse("t.yaml", src)
	require.NoError(t, err, r.String())
	assert.Equal(t, []string{"b"}, initNodes(c))
	// Priorities follow addresses, not the init mark or file order.
	assert.Equal(t, []int{200, 150, 50}, []int{c.Nodes[0].Priority, c.Nodes[1].Priority, c.Nodes[2].Priority})
}

// TestInitializedClusterHasNoInitNode: with cluster.initialized every control-plane node joins.
func TestInitializedClusterHasNoInitNode(t *testing.T) {
	src := []byte(`apiVersion: ignigen.io/v1alpha1
kind: Topology
cluster: {name: tiny, initialized: true}
controlPlane: {vip: 10.0.0.10}
network: {cidr: 10.0.0.0/24, gateway: 10.0.0.1, dns: [10.0.0.1]}
ssh: {authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINgSYnmsur6ApeOWg47YLJciko/wUJqooIMvu0oXt6ea me"]}
nodes:
  - {name: a, role: control-plane, ip: 10.0.0.11}
  - {name: b, role: control-plane, ip: 10.0.0.12}
  - {name: w, role: worker, ip: 10.0.0.21}
`)
	c, r, err := Parse("t.yaml", src)
	require.NoError(t, err, r.String())
	assert.Empty(t, initNodes(c))
	assert.Equal(t, []model.Phase{model.PhaseJoinControlPlane, model.PhaseJoinControlPlane, model.PhaseJoinWorker},
		[]model.Phase{c.Nodes[0].Phase(), c.Nodes[1].Phase(), c.Nodes[2].Phase()})
}

func TestPrioritiesSpread(t *testing.T) {
	ip := func(last int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, byte(last)}) }
	for _, tc := range []struct {
		name     string
		ips      []int // control-plane nodes, in file order
		reserved []int
		want     []int
	}{
		{"one", []int{11}, nil, []int{200}},
		{"two", []int{11, 12}, nil, []int{200, 150}},
		{"three", []int{11, 12, 13}, nil, []int{200, 150, 50}},
		{"five", []int{11, 12, 13, 14, 15}, nil, []int{200, 150, 117, 84, 51}},
		{"file order does not matter", []int{13, 11, 12}, nil, []int{50, 200, 150}},
		// A node added at a reserved address leaves every running node's priority as it was.
		{"three and two reserved", []int{11, 12, 13}, []int{14, 15}, []int{200, 150, 117}},
		{"the fourth joined at a reserved address", []int{11, 12, 13, 14}, []int{15}, []int{200, 150, 117, 84}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &model.Cluster{}
			for _, a := range tc.ips {
				c.Nodes = append(c.Nodes, model.Node{Role: model.ControlPlane, IP: ip(a)})
			}
			c.Nodes = append(c.Nodes, model.Node{Role: model.Worker, IP: ip(99)})
			for _, a := range tc.reserved {
				c.ReservedControlPlane = append(c.ReservedControlPlane, ip(a))
			}
			assignPriorities(c)
			var got []int
			for _, n := range c.Nodes[:len(tc.ips)] {
				got = append(got, n.Priority)
			}
			assert.Equal(t, tc.want, got)
			assert.Zero(t, c.Nodes[len(tc.ips)].Priority, "a worker has no priority")
		})
	}
}

func initNodes(c *model.Cluster) []string {
	var out []string
	for _, n := range c.Nodes {
		if n.Init {
			out = append(out, n.Name)
		}
	}
	return out
}
