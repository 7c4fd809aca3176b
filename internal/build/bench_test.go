package build

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/secrets"
	"github.com/ignigen/ignigen/internal/topology"
	"github.com/ignigen/ignigen/profiles"
)

// syntheticTopology has 3 control-plane nodes and n-3 workers in a /16.
func syntheticTopology(n int) []byte {
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
		role := "worker"
		if i < 3 {
			role = "control-plane"
		}
		fmt.Fprintf(&b, "  - {name: node%d, role: %s, ip: 10.1.%d.%d, mac: \"52:54:00:01:%02x:%02x\"}\n", i, role, 1+i/250, 1+i%250, i/256, i%256)
	}
	return []byte(b.String())
}

func BenchmarkBuild(b *testing.B) {
	bundle, err := secrets.New(model.ECDSAP256, time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
	require.NoError(b, err)
	for _, n := range []int{5, 100, 1000} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			src := syntheticTopology(n)
			var res *Result
			for b.Loop() {
				c, r, err := topology.Parse("bench.yaml", src)
				require.NoError(b, err, r.String())
				res, err = Build(c, bundle, profiles.FS)
				require.NoError(b, err)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/node")
			b.ReportMetric(float64(res.Manifest.Nodes[0].Bytes), "B/cp-file")
			b.ReportMetric(float64(res.Manifest.Nodes[n-1].Bytes), "B/worker-file")
		})
	}
}
