package layers

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/model"
)

// The digest is equal for equal views and changes with any field a template could read, however
// deep, exported or not; map order does not matter; what cannot be encoded is refused.
func TestViewDigest(t *testing.T) {
	c, b := testCluster(t)
	cv := newClusterView(c, b)
	view := func(i int) *View {
		v, err := cv.forNode(c.Nodes[i])
		require.NoError(t, err)
		return v
	}
	digest := func(v any) string {
		d, err := viewDigest(v)
		require.NoError(t, err)
		return string(d)
	}
	base := digest(view(0))
	require.Equal(t, base, digest(view(0)), "same view, other digest")
	require.NotEqual(t, base, digest(view(1)), "two nodes, one digest")

	for name, change := range map[string]func(v *View){
		"node address":       func(v *View) { v.Node.IP = netip.MustParseAddr("10.0.0.9") },
		"renewal slot":       func(v *View) { v.RenewSlot++ },
		"a CA key's text":    func(v *View) { v.PKI = append([]PKIFile{}, v.PKI...); v.PKI[1].Data += "x" },
		"token":              func(v *View) { v.Token += "x" },
		"a peer":             func(v *View) { v.Peers = append(v.Peers, netip.MustParseAddr("10.0.0.7")) },
		"cluster, deep":      func(v *View) { cc := *v.Cluster; cc.Name = "u"; v.Cluster = &cc },
		"profile data, deep": func(v *View) { cc := *v.Cluster; os := *cc.OS; os.User.UID++; cc.OS = &os; v.Cluster = &cc },
		"a snippet's source": func(v *View) {
			cc := *v.Cluster
			cc.Snippets = []model.Snippet{{File: "s.bu", Source: []byte("a")}}
			v.Cluster = &cc
		},
		"balancer password": func(v *View) { v.Balancer = &Balancer{VRRPPassword: "other"} },
	} {
		v := view(0)
		change(v)
		require.NotEqual(t, base, digest(v), name)
	}

	type withMap struct{ M map[string]int }
	a, bm := withMap{map[string]int{}}, withMap{map[string]int{}}
	for i, k := range []string{"a", "b", "c", "d", "e", "f"} {
		a.M[k] = i
	}
	for i := 5; i >= 0; i-- {
		bm.M[string(rune('a'+i))] = i
	}
	require.Equal(t, digest(a), digest(bm))
	bm.M["a"] = 9
	require.NotEqual(t, digest(a), digest(bm))

	type unexported struct{ x int }
	require.NotEqual(t, digest(unexported{1}), digest(unexported{2}))
	_, err := viewDigest(struct{ F func() }{func() {}})
	require.Error(t, err)
}
