package build_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/build"
	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/secrets"
	"github.com/ignigen/ignigen/internal/testkit"
	"github.com/ignigen/ignigen/internal/topology"
	"github.com/ignigen/ignigen/profiles"
)

func BenchmarkBuild(b *testing.B) {
	bundle, err := secrets.New(model.ECDSAP256, time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
	require.NoError(b, err)
	for _, n := range []int{5, 100, 1000} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			src := testkit.SyntheticTopology(n)
			var res *build.Result
			for b.Loop() {
				c, r, err := topology.Parse("bench.yaml", src)
				require.NoError(b, err, r.String())
				res, err = build.Build(c, bundle, profiles.FS)
				require.NoError(b, err)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/node")
			b.ReportMetric(float64(res.Manifest.Nodes[0].Bytes), "B/cp-file")
			b.ReportMetric(float64(res.Manifest.Nodes[n-1].Bytes), "B/worker-file")
		})
	}
}
