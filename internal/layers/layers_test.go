package layers

import (
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/ignfiles"
	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/osprofile"
	"github.com/ignigen/ignigen/internal/secrets"
	"github.com/ignigen/ignigen/profiles"
)

func layer(body string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte("variant: flatcar\nversion: 1.1.0\n" + body)}
}

// testProfile has one file every layer writes, so the winner shows which layer came last.
func testProfile(node string) fstest.MapFS {
	write := func(who string) *fstest.MapFile {
		return layer("storage:\n  files:\n    - path: /etc/who\n      overwrite: true\n      contents:\n        inline: " + who + "\n    - path: /etc/" + who + "\n")
	}
	return fstest.MapFS{
		"t/files/x":                      {Data: []byte("{{ .Node.Name }}")},
		"t/layers/base.bu":               write("base"),
		"t/layers/kubernetes.bu":         write("kubernetes"),
		"t/layers/load-balancer.bu":      write("load-balancer"),
		"t/layers/management.bu":         write("management"),
		"t/layers/worker.bu":             write("worker"),
		"t/layers/control-plane.bu":      write("control-plane"),
		"t/layers/init.bu":               write("init"),
		"t/layers/join-worker.bu":        write("join-worker"),
		"t/layers/join-control-plane.bu": write("join-control-plane"),
		"t/layers/node.bu":               layer(node),
	}
}

func testCluster(t *testing.T) (*model.Cluster, *secrets.Bundle) {
	b, err := secrets.New(model.ECDSAP256, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	os, err := osprofile.Load(profiles.FS, osprofile.Default)
	require.NoError(t, err)
	c := &model.Cluster{Name: "t", OS: os, Nodes: []model.Node{
		{Name: "cp", Role: model.ControlPlane, Init: true, IP: netip.MustParseAddr("10.0.0.2"), Priority: 150},
		{Name: "w", Role: model.Worker, IP: netip.MustParseAddr("10.0.0.3")},
	}}
	return c, b
}

func TestLaterLayerWins(t *testing.T) {
	c, b := testCluster(t)
	p, err := LoadProfile(testProfile("storage:\n  files:\n    - path: /etc/node\n      contents:\n        inline: '{{ include \"x\" . }}'\n"), "t")
	require.NoError(t, err)
	comp := NewCompiler(p, c, b)
	for _, tc := range []struct {
		node model.Node
		last string
		all  []string
	}{
		{c.Nodes[0], "init", []string{"base", "control-plane", "init", "node"}},
		{c.Nodes[1], "join-worker", []string{"base", "worker", "join-worker", "node"}},
	} {
		out, err := comp.Node(tc.node)
		require.NoError(t, err)
		_, files, err := ignfiles.Parse(out)
		require.NoError(t, err)
		assert.Equal(t, tc.last, string(ignfiles.Find(files, "/etc/who").Data), "the most specific layer that writes a path wins")
		for _, l := range tc.all {
			assert.NotNil(t, ignfiles.Find(files, "/etc/"+l), "layer %s is part of %s's stack", l, tc.node.Name)
		}
		assert.Equal(t, tc.node.Name, string(ignfiles.Find(files, "/etc/node").Data))
	}
}

func TestCompileErrors(t *testing.T) {
	c, b := testCluster(t)
	for _, tc := range []struct {
		name, node, want string
	}{
		{"missing key", "storage:\n  files:\n    - path: /etc/{{ .NoSuchField }}\n", "NoSuchField"},
		{"butane warning is fatal", "storage:\n  files:\n    - path: /etc/a\n      contents:\n        inline: a\n      unknown_key: 1\n", "unused key unknown_key"},
		{"invalid ignition", "storage:\n  files:\n    - path: relative/path\n", "path not absolute"},
		{"bad yaml", "storage: [\n", "layer node"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := LoadProfile(testProfile(tc.node), "t")
			require.NoError(t, err)
			_, err = NewCompiler(p, c, b).Node(c.Nodes[1])
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestMergeConflictCaught(t *testing.T) {
	// Each layer is valid alone; together the lower layers' files sit beneath the node layer's symlink.
	c, b := testCluster(t)
	p, err := LoadProfile(testProfile("storage:\n  links:\n    - path: /etc\n      target: /tmp\n"), "t")
	require.NoError(t, err)
	_, err = NewCompiler(p, c, b).Node(c.Nodes[1])
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Ignition validation")
}

// TestViewsFollowTheRoleTable: each role's view holds exactly the secrets its row grants.
func TestViewsFollowTheRoleTable(t *testing.T) {
	b, err := secrets.New(model.ECDSAP256, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	ip := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	os, err := osprofile.Load(profiles.FS, osprofile.Default)
	require.NoError(t, err)
	stacked := &model.Cluster{Name: "t", OS: os, Nodes: []model.Node{
		{Name: "cp", Role: model.ControlPlane, Init: true, IP: ip("10.0.0.2")},
		{Name: "w", Role: model.Worker, IP: ip("10.0.0.3")},
	}}
	external := &model.Cluster{Name: "t", OS: os, ExternalLB: true, Management: model.ManagementSettings{AdminCredential: true}, Nodes: []model.Node{
		{Name: "cp", Role: model.ControlPlane, Init: true, IP: ip("10.0.0.2")},
		{Name: "lb1", Role: model.LoadBalancer, IP: ip("10.0.0.4")},
		{Name: "lb2", Role: model.LoadBalancer, IP: ip("10.0.0.5")},
		{Name: "m", Role: model.Management, IP: ip("10.0.0.6")},
	}}
	plain := *external
	plain.Management.AdminCredential = false
	for _, tc := range []struct {
		name                           string
		c                              *model.Cluster
		node                           int
		pki, balances, token, cred, kc bool
		peers                          int
	}{
		{"stacked control plane", stacked, 0, true, true, true, false, false, 0},
		{"worker", stacked, 1, false, false, true, false, false, 0},
		{"external control plane", external, 0, true, false, true, false, false, 0},
		{"load balancer", external, 1, false, true, false, false, false, 1},
		{"management with credential", external, 3, false, false, false, true, true, 0},
		{"management without credential", &plain, 3, false, false, false, false, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := newClusterView(tc.c, b).forNode(tc.c.Nodes[tc.node])
			require.NoError(t, err)
			assert.Equal(t, tc.pki, v.PKI != nil, "PKI")
			assert.Equal(t, tc.balances, v.Balancer != nil && v.Balances, "VRRP password")
			assert.Equal(t, tc.token, v.Token == b.BootstrapToken, "token")
			assert.Equal(t, !tc.token, v.Token == "", "token absent")
			assert.Equal(t, tc.cred, v.Credential != nil, "credential")
			assert.Equal(t, tc.kc, v.Kubeconfig != "", "kubeconfig")
			assert.Len(t, v.Peers, tc.peers)
			if v.Credential != nil {
				assert.NotContains(t, v.Kubeconfig, "kubernetes-admin", "never the operator's credential")
				assert.NotEqual(t, b.Admin.Key, v.Credential.Key)
			}
			assert.Equal(t, []netip.Addr{tc.c.NodesOf(model.ControlPlane)[0].IP}, v.APIServers)
		})
	}
}

func TestSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{300 * time.Millisecond: "0.3", time.Second: "1", 1250 * time.Millisecond: "1.25", 10 * time.Millisecond: "0.01"} {
		assert.Equal(t, want, seconds(d))
	}
}

func TestOtherVariantsAndVersions(t *testing.T) {
	c, b := testCluster(t)
	fsys := testProfile("")
	// A Fedora CoreOS layer translates through the same code.
	fsys["t/layers/node.bu"] = &fstest.MapFile{Data: []byte("variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /etc/fcos\n")}
	p, err := LoadProfile(fsys, "t")
	require.NoError(t, err)
	out, err := NewCompiler(p, c, b).Node(c.Nodes[1])
	require.NoError(t, err)
	_, files, err := ignfiles.Parse(out)
	require.NoError(t, err)
	assert.NotNil(t, ignfiles.Find(files, "/etc/fcos"))

	// A layer that would land on another Ignition version cannot be merged: ignigen has no
	// translator for it.
	fsys["t/layers/node.bu"] = &fstest.MapFile{Data: []byte("variant: fcos\nversion: 1.6.0\n")}
	p, err = LoadProfile(fsys, "t")
	require.NoError(t, err)
	_, err = NewCompiler(p, c, b).Node(c.Nodes[1])
	assert.ErrorContains(t, err, "Butane fcos 1.6.0 is not one ignigen translates (fcos 1.5.0, fiot 1.0.0, flatcar 1.1.0, r4e 1.1.0: those whose translation is Ignition 3.4.0)")
}

func TestSnippetIsTheLastLayer(t *testing.T) {
	c, b := testCluster(t)
	c.Snippets = []model.Snippet{{
		File:   "mine.bu",
		Roles:  []model.Role{model.Worker},
		Source: []byte("variant: flatcar\nversion: 1.1.0\nstorage:\n  files:\n    - path: /etc/who\n      overwrite: true\n      contents:\n        inline: mine\n"),
	}}
	p, err := LoadProfile(testProfile(""), "t")
	require.NoError(t, err)
	comp := NewCompiler(p, c, b)
	for _, tc := range []struct {
		node model.Node
		who  string
	}{{c.Nodes[0], "init"}, {c.Nodes[1], "mine"}} {
		out, err := comp.Node(tc.node)
		require.NoError(t, err)
		_, files, err := ignfiles.Parse(out)
		require.NoError(t, err)
		assert.Equal(t, tc.who, string(ignfiles.Find(files, "/etc/who").Data), tc.node.Name)
	}
}

// indent gives what splitting, padding and joining the lines gave.
func TestIndent(t *testing.T) {
	old := func(n int, s string) string {
		lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
		for i, l := range lines {
			if l != "" {
				lines[i] = strings.Repeat(" ", n) + l
			}
		}
		return strings.Join(lines, "\n")
	}
	for _, s := range []string{"", "\n", "a", "a\n", "a\nb", "a\n\nb\n\n", "\na", " x\n  y\n", "a\r\nb"} {
		for _, n := range []int{0, 2, 10} {
			assert.Equal(t, old(n, s), indent(n, s), "indent(%d, %q)", n, s)
		}
	}
}
