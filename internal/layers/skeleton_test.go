package layers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/secrets"
	"github.com/ignigen/ignigen/internal/topology"
	"github.com/ignigen/ignigen/profiles"
)

// skeletonTopology has every role, and workers whose names, addresses and MACs differ in length
// and form, so filled data URLs change length and some could change encoding.
func skeletonTopology() []byte {
	var b strings.Builder
	b.WriteString(`apiVersion: ignigen.io/v1alpha1
kind: Topology
cluster: {name: skel}
controlPlane: {vip: 10.9.0.2}
network: {cidr: 10.9.0.0/16, gateway: 10.9.0.1, dns: [10.9.0.1, 1.1.1.1]}
ssh: {authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINgSYnmsur6ApeOWg47YLJciko/wUJqooIMvu0oXt6ea t"]}
management: {adminCredential: true}
nodes:
  - {name: lb1, role: load-balancer, ip: 10.9.0.3}
  - {name: lb2, role: load-balancer, ip: 10.9.0.4, mac: "52:54:00:00:00:04"}
  - {name: cp1, role: control-plane, ip: 10.9.0.11, mac: "52:54:00:00:00:11"}
  - {name: cp2, role: control-plane, ip: 10.9.0.12, mac: "52:54:00:00:00:12"}
  - {name: cp3, role: control-plane, ip: 10.9.0.13, mac: "52:54:00:00:00:13"}
  - {name: mgmt1, role: management, ip: 10.9.0.21}
  - {name: mgmt2, role: management, ip: 10.9.0.22}
`)
	names := []string{"w", "1w", "worker-with-a-rather-long-name-0", "x-", "true1", "null"}
	for i := range 40 {
		name := fmt.Sprintf("%s%d", names[i%len(names)], i)
		if i%len(names) == 5 {
			name = "null" // a YAML word: must take the ordinary way, and still be right
			if i > 5 {
				name = fmt.Sprintf("n%d", i)
			}
		}
		ip := fmt.Sprintf("10.9.%d.%d", 1+i*37%200, 1+i*53%254)
		if i%3 == 0 {
			fmt.Fprintf(&b, "  - {name: %q, role: worker, ip: %s, mac: \"52:54:00:%02x:%02x:ab\"}\n", name, ip, i, 255-i)
			continue
		}
		fmt.Fprintf(&b, "  - {name: %q, role: worker, ip: %s}\n", name, ip)
	}
	return []byte(b.String())
}

// TestSkeletonsGiveTheSameBytes: every node filled into a skeleton is byte for byte what the
// ordinary compilation gives, and workers do get skeletons.
func TestSkeletonsGiveTheSameBytes(t *testing.T) {
	c, r, err := topology.Parse("skel.yaml", skeletonTopology())
	require.NoError(t, err, r.String())
	b, err := secrets.New(model.ECDSAP256, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	p, err := LoadProfile(profiles.FS, c.Profile)
	require.NoError(t, err)
	fast, slow := NewCompiler(p, c, b), NewCompiler(p, c, b)
	slow.ordinary = true
	for _, n := range c.Nodes {
		want, err := slow.Node(n)
		require.NoError(t, err)
		got, err := fast.Node(n)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "node %s", n.Name)
	}
	skeletons := 0
	fast.shapes.Range(func(_, v any) bool {
		if sk := v.(*shape).sk; sk != nil {
			skeletons++
			assert.NotNil(t, sk.segs, "a skeleton's nodes are joined from its cut JSON, not marshalled")
		}
		return true
	})
	assert.Positive(t, skeletons, "workers share skeletons")
}

// TestSkeletonFallsBack: a template that uses a node's values other than as text, or puts them
// in a path, leaves the nodes it tells apart to the ordinary way, with the same result.
func TestSkeletonFallsBack(t *testing.T) {
	for _, tc := range []struct {
		node     string
		skeleton bool // whether the nodes it does not tell apart may still share one
	}{
		{"storage:\n  files:\n    - path: /etc/node\n      contents:\n        inline: '{{ if eq .Node.Name \"w\" }}first{{ else }}other{{ end }}'\n", true},
		{"storage:\n  files:\n    - path: /etc/node-{{ .Node.Name }}\n      contents:\n        inline: x\n", false},
		{"storage:\n  files:\n    - path: /etc/node\n      contents:\n        inline: {{ .Node.IP.Next }}\n", false},
	} {
		c, b := testCluster(t)
		c.Nodes = append(c.Nodes, model.Node{Name: "w2", Role: model.Worker, IP: c.Nodes[1].IP.Next()}, model.Node{Name: "w3", Role: model.Worker, IP: c.Nodes[1].IP.Next().Next()})
		p, err := LoadProfile(testProfile(tc.node), "t")
		require.NoError(t, err)
		fast, slow := NewCompiler(p, c, b), NewCompiler(p, c, b)
		slow.ordinary = true
		for _, n := range c.Nodes {
			want, err := slow.Node(n)
			require.NoError(t, err)
			got, err := fast.Node(n)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got), "node %s", n.Name)
		}
		if !tc.skeleton {
			fast.shapes.Range(func(_, v any) bool {
				assert.Nil(t, v.(*shape).sk, "no skeleton for %q", tc.node)
				return true
			})
		}
	}
}
