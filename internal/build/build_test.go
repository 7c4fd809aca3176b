package build

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/ignigen/ignigen/internal/ignfiles"
	"github.com/ignigen/ignigen/internal/kubeconfig"
	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/output"
	"github.com/ignigen/ignigen/internal/pki"
	"github.com/ignigen/ignigen/internal/secrets"
	"github.com/ignigen/ignigen/internal/topology"
	"github.com/ignigen/ignigen/profiles"
)

var update = flag.Bool("update", false, "rewrite testdata/<case>/golden from the current output")

// goldenCases are the example clusters under testdata/ with a test-only secrets fixture.
var goldenCases = []string{"flatcar-ha", "single-cp", "five-cp", "external-lb", "flatcar-crio", "fcos-ha"}

type buildCase struct {
	dir     string
	cluster *model.Cluster
	bundle  *secrets.Bundle
	result  *Result
}

func loadCase(t testing.TB, name string) *buildCase {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", name)
	src, err := os.ReadFile(filepath.Join(dir, "topology.yaml"))
	require.NoError(t, err)
	c, r, err := topology.Parse("topology.yaml", src)
	require.NoError(t, err, r.String())
	raw, err := os.ReadFile(filepath.Join(dir, "secrets.yaml"))
	require.NoError(t, err)
	// The fixture's own creation time: tests must not start failing when its certificates age.
	var hdr struct {
		CreatedAt time.Time `yaml:"createdAt"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &hdr))
	b, err := secrets.Unmarshal(raw, hdr.CreatedAt.Add(time.Hour))
	require.NoError(t, err)
	res, err := Build(c, b, profiles.FS)
	require.NoError(t, err)
	return &buildCase{dir: dir, cluster: c, bundle: b, result: res}
}

func TestGolden(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			bc := loadCase(t, name)
			goldenDir := filepath.Join(bc.dir, "golden")
			if *update {
				require.NoError(t, os.RemoveAll(goldenDir))
				require.NoError(t, os.MkdirAll(goldenDir, 0o755))
			}
			var names []string
			files := bc.result.Files
			// Next to each config, its files decoded: data URLs hide a one-line change in review.
			for _, f := range bc.result.Files {
				if strings.HasSuffix(f.Name, ".ign") {
					files = append(files, output.File{Name: f.Name + ".files", Data: decodedView(t, f.Data)})
				}
			}
			for _, f := range files {
				names = append(names, f.Name)
				path := filepath.Join(goldenDir, f.Name)
				if *update {
					require.NoError(t, os.WriteFile(path, f.Data, 0o644))
					continue
				}
				want, err := os.ReadFile(path)
				require.NoError(t, err, "run go test ./pkg/build -run Golden -update")
				assert.Equal(t, string(want), string(f.Data), "%s differs from its golden file; review, then -update", f.Name)
			}
			entries, err := os.ReadDir(goldenDir)
			require.NoError(t, err)
			for _, e := range entries {
				assert.Contains(t, names, e.Name(), "stale golden file")
			}
		})
	}
}

// decodedView lists every file and unit of a config with its mode and decoded contents.
func decodedView(t *testing.T, raw []byte) []byte {
	t.Helper()
	_, files, err := ignfiles.Parse(raw)
	require.NoError(t, err)
	var b bytes.Buffer
	for _, f := range files {
		fmt.Fprintf(&b, "==> %s (%04o)", f.Path, f.Mode)
		if f.Source != "" {
			fmt.Fprintf(&b, " from %s\n", f.Source)
			continue
		}
		b.WriteString("\n")
		b.Write(f.Data)
		if len(f.Data) > 0 && f.Data[len(f.Data)-1] != '\n' {
			b.WriteString("\n")
		}
	}
	return b.Bytes()
}

func TestDeterministic(t *testing.T) {
	a := loadCase(t, "five-cp")
	b := loadCase(t, "five-cp")
	require.Equal(t, len(a.result.Files), len(b.result.Files))
	for i := range a.result.Files {
		assert.True(t, bytes.Equal(a.result.Files[i].Data, b.result.Files[i].Data), a.result.Files[i].Name)
	}
}

// nodeFiles parses every node config of a case with Ignition's parser and decodes its files.
func nodeFiles(t *testing.T, bc *buildCase) map[string][]ignfiles.File {
	t.Helper()
	out := map[string][]ignfiles.File{}
	for i, n := range bc.cluster.Nodes {
		f := bc.result.Files[i]
		require.Equal(t, n.Name+".ign", f.Name)
		_, files, err := ignfiles.Parse(f.Data)
		require.NoError(t, err, f.Name)
		out[n.Name] = files
	}
	return out
}

// TestSecretsFollowTheRoleTable decodes every node's files (the same decoder for every role, so
// an empty result is not vacuous) and checks each holds exactly the secrets its role receives.
func TestSecretsFollowTheRoleTable(t *testing.T) {
	caKeys := []string{"/etc/kubernetes/pki/ca.key", "/etc/kubernetes/pki/front-proxy-ca.key", "/etc/kubernetes/pki/etcd/ca.key", "/etc/kubernetes/pki/sa.key"}
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			bc := loadCase(t, name)
			files := nodeFiles(t, bc)
			for i, n := range bc.cluster.Nodes {
				var keys []string
				for _, f := range files[n.Name] {
					if bytes.Contains(f.Data, []byte("PRIVATE KEY")) || bytes.Contains(f.Data, []byte("client-key-data")) {
						keys = append(keys, f.Path)
					}
				}
				raw := string(bc.result.Files[i].Data)
				spec := n.Role.Spec()
				switch {
				case spec.CASet:
					assert.ElementsMatch(t, caKeys, keys, n.Name)
				case spec.AdminCredential && bc.cluster.ManagementCredentials():
					assert.Equal(t, []string{"/home/core/.kube/config"}, keys, n.Name)
				default:
					assert.Empty(t, keys, "%s %s holds private keys", n.Role, n.Name)
				}
				hasToken := slices.ContainsFunc(files[n.Name], func(f ignfiles.File) bool { return bytes.Contains(f.Data, []byte(bc.bundle.BootstrapToken)) })
				assert.Equal(t, spec.BootstrapToken, hasToken, "%s: bootstrap token", n.Name)
				// The operator's admin key reaches no node, in any encoding.
				adminB64 := base64.StdEncoding.EncodeToString([]byte(bc.bundle.Admin.Key))
				for _, f := range files[n.Name] {
					assert.NotContains(t, string(f.Data), adminB64, "%s: %s", n.Name, f.Path)
					assert.NotContains(t, string(f.Data), bc.bundle.Admin.Key, "%s: %s", n.Name, f.Path)
				}
				// VRRPv3 carries no password; only a balancing node could ever hold it.
				if !n.Role.Balances(bc.cluster.ExternalLB) {
					assert.NotContains(t, raw, bc.bundle.VRRPPassword, n.Name)
				}
			}
		})
	}
}

func TestControlPlanePKI(t *testing.T) {
	bc := loadCase(t, "flatcar-ha")
	files := nodeFiles(t, bc)
	for _, n := range bc.cluster.APIServers() {
		for _, ca := range secrets.CAs {
			crt := ignfiles.Find(files[n.Name], "/etc/kubernetes/pki/"+ca.Name+".crt")
			key := ignfiles.Find(files[n.Name], "/etc/kubernetes/pki/"+ca.Name+".key")
			require.NotNil(t, crt, ca.Name)
			require.NotNil(t, key, ca.Name)
			assert.Equal(t, 0o644, crt.Mode)
			assert.Equal(t, 0o600, key.Mode)
			assert.Equal(t, bc.bundle.CAs[ca.Name].Cert, string(crt.Data))
			cert, err := pki.ParseCert(crt.Data)
			require.NoError(t, err)
			signer, err := pki.ParseKey(key.Data)
			require.NoError(t, err)
			assert.True(t, pki.SamePublicKey(signer.Public(), cert.PublicKey))
			assert.Equal(t, ca.CN, cert.Subject.CommonName)
		}
		sa := ignfiles.Find(files[n.Name], "/etc/kubernetes/pki/sa.key")
		require.NotNil(t, sa)
		assert.Equal(t, 0o600, sa.Mode)
		// Each holds a secret and each must be there: a missing file fails rather than skips.
		kubeadm := "/etc/kubernetes/kubeadm/join.yaml"
		if n.Phase() == model.PhaseInit {
			kubeadm = "/etc/kubernetes/kubeadm/init.yaml"
		}
		for _, p := range []string{"/etc/keepalived/keepalived.conf", kubeadm} {
			if p == "/etc/keepalived/keepalived.conf" && !n.Role.Balances(bc.cluster.ExternalLB) {
				continue
			}
			f := ignfiles.Find(files[n.Name], p)
			require.NotNil(t, f, "%s: %s", n.Name, p)
			assert.Equal(t, 0o600, f.Mode, p)
		}
	}
}

// TestKeepalivedUnicastOnly: every node that holds the VIP sends unicast adverts only, a lone one
// to loopback (keepalived has no unicast form without a peer; see keepalived.conf), and no other
// node runs keepalived or HAProxy.
func TestKeepalivedUnicastOnly(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			bc := loadCase(t, name)
			files := nodeFiles(t, bc)
			cps := bc.cluster.Balancers()
			for _, n := range bc.cluster.Nodes {
				if !n.Role.Balances(bc.cluster.ExternalLB) {
					for _, p := range []string{"/etc/keepalived/keepalived.conf", "/etc/haproxy/haproxy.cfg", "/etc/containers/systemd/haproxy.container", "/etc/sysctl.d/60-ignigen-nonlocal-bind.conf"} {
						assert.Nil(t, ignfiles.Find(files[n.Name], p), "%s %s: %s", n.Role, n.Name, p)
					}
				}
			}
			for _, n := range cps {
				f := ignfiles.Find(files[n.Name], "/etc/keepalived/keepalived.conf")
				require.NotNil(t, f, n.Name)
				ka := string(f.Data)
				assert.Contains(t, ka, "unicast_src_ip "+n.IP.String()+"\n", n.Name)
				assert.Contains(t, ka, "check_unicast_src\n", n.Name)
				assert.Equal(t, len(cps) == 1, strings.Contains(ka, "        127.0.0.1\n"), "%s: loopback is the peer of a lone node only", n.Name)
			}
		})
	}
}

func TestAdminKubeconfig(t *testing.T) {
	bc := loadCase(t, "flatcar-ha")
	f := bc.result.Files[slices.IndexFunc(bc.result.Files, func(f output.File) bool { return f.Name == KubeconfigFile })]
	assert.Equal(t, os.FileMode(0o600), f.Mode)
	kc, err := kubeconfig.Parse(f.Data)
	require.NoError(t, err)
	assert.Equal(t, "https://192.168.122.30:6443", kc.Server, "kubectl talks to the VIP")
	ca, err := pki.ParseCert(kc.CA)
	require.NoError(t, err)
	assert.True(t, ca.Equal(bc.bundle.CACert()), "the embedded CA is the cluster CA")
	cert, err := pki.ParseCert(kc.Cert)
	require.NoError(t, err)
	key, err := pki.ParseKey(kc.Key)
	require.NoError(t, err)
	assert.True(t, pki.SamePublicKey(key.Public(), cert.PublicKey))
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	_, err = cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: bc.bundle.CreatedAt.Add(time.Hour), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	require.NoError(t, err)
	assert.Equal(t, []string{secrets.AdminGroup}, cert.Subject.Organization)
	assert.Equal(t, 365*24*time.Hour+pki.Backdate, cert.NotAfter.Sub(cert.NotBefore))
}

// TestStacks checks each node got exactly its phase's pieces, and the cluster-wide facts line up.
func TestStacks(t *testing.T) {
	bc := loadCase(t, "five-cp")
	files := nodeFiles(t, bc)
	for _, n := range bc.cluster.Nodes {
		fs := files[n.Name]
		has := func(p string) bool { return ignfiles.Find(fs, p) != nil }
		assert.Equal(t, n.Init, has("/etc/kubernetes/kubeadm/init.yaml"), n.Name)
		assert.Equal(t, n.Init, has("/etc/systemd/system/kubeadm-init.service"), n.Name)
		// Every Kubernetes member can join; the init node too, should it find the cluster running.
		assert.True(t, has("/etc/kubernetes/kubeadm/join.yaml"), n.Name)
		assert.Equal(t, n.Init, has("/opt/ignigen/bin/init-or-join"), n.Name)
		assert.Equal(t, n.Role == model.ControlPlane, has("/etc/containers/systemd/keepalived.container"), n.Name)
		assert.Equal(t, n.Role == model.ControlPlane, has("/etc/haproxy/haproxy.cfg"), n.Name)
		assert.Equal(t, n.Name, string(ignfiles.Find(fs, "/etc/hostname").Data))
		net := string(ignfiles.Find(fs, "/etc/systemd/network/00-enp1s0.network").Data)
		assert.Contains(t, net, "Address="+n.IP.String()+"/24\n")
		{
			join := string(ignfiles.Find(fs, "/etc/kubernetes/kubeadm/join.yaml").Data)
			assert.Contains(t, join, "apiServerEndpoint: 192.168.50.10:8443")
			assert.Contains(t, join, bc.bundle.DiscoveryHash())
			assert.Equal(t, n.Role == model.ControlPlane, strings.Contains(join, "controlPlane:"), n.Name)
		}
		if n.Role == model.ControlPlane {
			ka := string(ignfiles.Find(fs, "/etc/keepalived/keepalived.conf").Data)
			assert.Contains(t, ka, "virtual_router_id 77")
			assert.Contains(t, ka, "auth_pass "+bc.bundle.VRRPPassword, "VRRPv2 authenticates")
			assert.NotContains(t, ka, "nopreempt", "preempt: true")
			assert.Contains(t, ka, "unicast_src_ip "+n.IP.String())
			assert.NotContains(t, ka, "        "+n.IP.String()+"\n", "a node is not its own peer")
			hap := string(ignfiles.Find(fs, "/etc/haproxy/haproxy.cfg").Data)
			assert.Contains(t, hap, "bind 192.168.50.10:8443")
			for _, cp := range bc.cluster.APIServers() {
				assert.Contains(t, hap, "server "+cp.IP.String()+" "+cp.IP.String()+":9443")
			}
		}
	}
	initYAML := string(ignfiles.Find(files["cp3"], "/etc/kubernetes/kubeadm/init.yaml").Data)
	assert.Contains(t, initYAML, "controlPlaneEndpoint: 192.168.50.10:8443")
	assert.Contains(t, initYAML, "bindPort: 9443")
	assert.Contains(t, initYAML, "token: "+bc.bundle.BootstrapToken)
}

func TestSysextVerification(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for _, tc := range []struct{ field, want string }{{"", ""}, {"\n  sha256: " + strings.ToUpper(sum), "sha256-" + sum}} {
		src := strings.Replace(string(topology.Example), "\nsysext:\n  baseURL: https://extensions.flatcar.org/extensions", "\nsysext:\n  baseURL: https://extensions.flatcar.org/extensions"+tc.field, 1)
		c, r, err := topology.Parse("t.yaml", []byte(src))
		require.NoError(t, err, r.String())
		b := loadCase(t, "flatcar-ha").bundle
		res, err := Build(c, b, profiles.FS)
		require.NoError(t, err)
		cfg, _, err := ignfiles.Parse(res.Files[0].Data)
		require.NoError(t, err)
		var hash string
		for _, f := range cfg.Storage.Files {
			if strings.HasPrefix(f.Path, "/opt/extensions/kubernetes/") && f.Contents.Verification.Hash != nil {
				hash = *f.Contents.Verification.Hash
			}
		}
		assert.Equal(t, tc.want, hash)
	}
}

// The node network is IPv4 only. With IPv6 link-local addressing and router advertisements
// left on, systemd-networkd keeps the link "configuring" until an RA arrives, so
// systemd-networkd-wait-online (which keepalived, HAProxy and kubeadm wait for) timed out after
// about 13 s on every first boot of the boot test. Every node's .network turns both off.
func TestNetworkIsIPv4Only(t *testing.T) {
	for _, name := range goldenCases {
		bc := loadCase(t, name)
		files := nodeFiles(t, bc)
		for _, n := range bc.cluster.Nodes {
			// The profile's network style picks the file and the lines that say "IPv4 only".
			path, section, want := "/etc/systemd/network/00-"+bc.cluster.Network.Interface+".network", "[Network]",
				[]string{"LinkLocalAddressing=no", "IPv6AcceptRA=no", fmt.Sprintf("Address=%s/%d", n.IP, bc.cluster.Network.CIDR.Bits())}
			if bc.cluster.OS.Network == "networkmanager" {
				path, section = "/etc/NetworkManager/system-connections/"+bc.cluster.Network.Interface+".nmconnection", "[ipv4]"
				want = []string{"method=manual", fmt.Sprintf("address1=%s/%d,%s", n.IP, bc.cluster.Network.CIDR.Bits(), bc.cluster.Network.Gateway), "[ipv6]", "method=disabled"}
			}
			var unit string
			for _, f := range files[n.Name] {
				if f.Path == path {
					unit = string(f.Data)
				}
			}
			require.NotEmpty(t, unit, "%s/%s has no %s", name, n.Name, path)
			lines := strings.Split(unit[strings.Index(unit, section):], "\n")
			for _, w := range want {
				assert.Contains(t, lines, w, "%s/%s: %s", name, n.Name, path)
			}
		}
	}
}

// TestManagementCredential: the management node's kubeconfig carries a client certificate of its
// own, issued by the cluster CA in group ignigen:management, and not the operator's.
func TestManagementCredential(t *testing.T) {
	bc := loadCase(t, "external-lb")
	files := nodeFiles(t, bc)
	f := ignfiles.Find(files["ops"], "/home/core/.kube/config")
	require.NotNil(t, f)
	assert.Equal(t, 0o600, f.Mode)
	kc, err := kubeconfig.Parse(f.Data)
	require.NoError(t, err)
	assert.Equal(t, "https://192.168.122.30:6443", kc.Server)
	cert, err := pki.ParseCert(kc.Cert)
	require.NoError(t, err)
	key, err := pki.ParseKey(kc.Key)
	require.NoError(t, err)
	assert.True(t, pki.SamePublicKey(key.Public(), cert.PublicKey))
	pool := x509.NewCertPool()
	pool.AddCert(bc.bundle.CACert())
	_, err = cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: bc.bundle.CreatedAt.Add(time.Hour), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	require.NoError(t, err)
	assert.Equal(t, []string{model.ManagementGroup}, cert.Subject.Organization)
	assert.Equal(t, secrets.NodeUser("ops"), cert.Subject.CommonName)
	admin, err := pki.ParseCert([]byte(bc.bundle.Admin.Cert))
	require.NoError(t, err)
	assert.NotEqual(t, admin.SerialNumber, cert.SerialNumber)
	assert.False(t, pki.SamePublicKey(admin.PublicKey, cert.PublicKey), "never the operator's key")
	assert.Equal(t, admin.NotAfter, cert.NotAfter, "renewed with the admin certificate")

	// The init node binds the group, so the credential works and one binding revokes it.
	rbac := ignfiles.Find(files["cp1"], "/etc/systemd/system/ignigen-management-rbac.service")
	require.NotNil(t, rbac)
	assert.Contains(t, string(rbac.Data), "--group "+model.ManagementGroup)
}

// TestExternalBackends: with load-balancer nodes, HAProxy balances over exactly the control-plane
// nodes on kube-apiserver's own port, and the control-plane nodes wait for no local keepalived.
func TestExternalBackends(t *testing.T) {
	bc := loadCase(t, "external-lb")
	files := nodeFiles(t, bc)
	cfg := string(ignfiles.Find(files["lb1"], "/etc/haproxy/haproxy.cfg").Data)
	var servers []string
	for _, l := range strings.Split(cfg, "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "server" {
			servers = append(servers, f[1]+"="+f[2])
		}
	}
	assert.Equal(t, []string{"192.168.122.31=192.168.122.31:6443", "192.168.122.32=192.168.122.32:6443", "192.168.122.33=192.168.122.33:6443"}, servers)
	for _, cp := range []string{"cp1", "cp2"} {
		for _, f := range files[cp] {
			if strings.HasPrefix(f.Path, "/etc/systemd/system/kubeadm-") {
				assert.NotContains(t, string(f.Data), "keepalived.service", "%s: %s", cp, f.Path)
			}
		}
	}
}

// TestGrowingKeepsRunningConfigs: a cluster built with reserved addresses, rebuilt with the same
// secrets after control-plane (or load-balancer) nodes fill them and a worker is added, gives
// every node of the first build a byte-identical config: Ignition runs once, so a running node
// must need nothing new. The negative control adds a control-plane node outside the reserved set,
// which must change the running nodes' configs.
func TestGrowingKeepsRunningConfigs(t *testing.T) {
	for _, tc := range []struct {
		name, topology string
		reserveBefore  string // replaces "controlPlane:\n" in the first build
		reserveAfter   string // and in the second: filled addresses move from reservedIPs to nodes
		grow           string // appended to nodes
		changes        bool
	}{
		{"stacked, reserved slot filled", "flatcar-ha",
			"controlPlane:\n  reservedIPs: [192.168.122.36]\n", "controlPlane:\n",
			"  - {name: node6-cp, role: control-plane, ip: 192.168.122.36}\n  - {name: node7-worker, role: worker, ip: 192.168.122.37}\n", false},
		{"external, reserved slots filled", "external-lb",
			"controlPlane:\n  reservedLoadBalancerIPs: [192.168.122.23]\n  reservedIPs: [192.168.122.34, 192.168.122.35]\n", "controlPlane:\n  reservedIPs: [192.168.122.35]\n",
			"  - {name: lb3, role: load-balancer, ip: 192.168.122.23}\n  - {name: cp4, role: control-plane, ip: 192.168.122.34}\n  - {name: w3, role: worker, ip: 192.168.122.53}\n", false},
		{"negative: control-plane node outside the reserved set", "flatcar-ha",
			"controlPlane:\n  reservedIPs: [192.168.122.36]\n", "controlPlane:\n  reservedIPs: [192.168.122.36]\n",
			"  - {name: node6-cp, role: control-plane, ip: 192.168.122.38}\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bc := loadCase(t, tc.topology)
			src, err := os.ReadFile(filepath.Join(bc.dir, "topology.yaml"))
			require.NoError(t, err)
			before := strings.Replace(string(src), "controlPlane:\n", tc.reserveBefore, 1)
			after := strings.Replace(string(src), "controlPlane:\n", tc.reserveAfter, 1) + tc.grow
			build := func(text string) map[string][]byte {
				c, r, err := topology.Parse("topology.yaml", []byte(text))
				require.NoError(t, err, r.String())
				res, err := Build(c, bc.bundle, profiles.FS)
				require.NoError(t, err)
				out := map[string][]byte{}
				for _, f := range res.Files {
					out[f.Name] = f.Data
				}
				return out
			}
			first, second := build(before), build(after)
			var changed []string
			for _, n := range bc.cluster.Nodes {
				if !bytes.Equal(first[n.Name+".ign"], second[n.Name+".ign"]) {
					changed = append(changed, n.Name)
				}
			}
			if tc.changes {
				assert.NotEmpty(t, changed, "a control-plane node outside the reserved set must change the running nodes' peer and backend lists")
			} else {
				assert.Empty(t, changed, "running nodes' configs changed")
			}
		})
	}
}
