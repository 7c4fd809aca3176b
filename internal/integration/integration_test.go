//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/ignigen/ignigen/internal/build"
	"github.com/ignigen/ignigen/internal/ignfiles"
	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/osprofile"
	"github.com/ignigen/ignigen/internal/testkit"
	"github.com/ignigen/ignigen/internal/topology"
)

// ---- reporting --------------------------------------------------------------------------------

// results counts outcomes and remembers which checks ran on real output and which had their
// negative control, so TestMain can insist on one negative control per check.
var results struct {
	sync.Mutex
	pass, fail int
	checks     map[string]bool // check names run on generated output
	negatives  map[string]bool // check names whose negative control rejected its input
}

// record prints one "PASS|FAIL CHECK SUBJECT" line and fails t on error.
func record(t testing.TB, check, subject string, err error) bool {
	t.Helper()
	results.Lock()
	defer results.Unlock()
	if results.checks == nil {
		results.checks, results.negatives = map[string]bool{}, map[string]bool{}
	}
	if neg, ok := strings.CutPrefix(check, "negative:"); ok {
		if err == nil {
			results.negatives[neg] = true
		}
	} else {
		results.checks[check] = true
	}
	if err == nil {
		results.pass++
		fmt.Printf("PASS %s %s\n", check, subject)
		return true
	}
	results.fail++
	fmt.Printf("FAIL %s %s\n%s\n", check, subject, indent(err.Error()))
	t.Errorf("%s %s failed (details above)", check, subject)
	return false
}

// negative turns a check's verdict on a broken input into the negative control's verdict and
// prints, under the PASS line, the consumer's message that rejected the input.
func negative(t testing.TB, check, subject string, err error) {
	t.Helper()
	if err == nil {
		record(t, "negative:"+check, subject, fmt.Errorf("the check accepted a deliberately broken input: it can pass vacuously"))
		return
	}
	record(t, "negative:"+check, subject, nil)
	fmt.Printf("     rejected: %s\n", truncate(reason(err), 200))
}

// reason picks the most telling line of a check's error: the first line of the consumer's
// output (indented, see fail) that looks like a diagnostic, else the first line.
func reason(err error) string {
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "    ") {
			continue
		}
		for _, w := range []string{"ALERT", "WARNING", "rror", "Unknown", "unsupported", "Disabling", "CRITICAL", "not executable", "mismatch"} {
			if strings.Contains(l, w) {
				return strings.TrimSpace(l)
			}
		}
	}
	return lines[0]
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Println("the integration suite needs root: Ignition chowns files, HAProxy and keepalived run in private namespaces")
		os.Exit(1)
	}
	code := m.Run()
	results.Lock()
	// A check without a negative control could pass vacuously: count that as a failure. Only
	// when both tests ran (not under -run filters).
	if len(results.negatives) > 0 && len(results.checks) > 0 {
		var missing []string
		for c := range results.checks {
			if !results.negatives[c] && c != "build-substitution" {
				missing = append(missing, c)
			}
		}
		sort.Strings(missing)
		for _, c := range missing {
			results.fail++
			fmt.Printf("FAIL negative:%s (no negative control rejected a broken input for this check)\n", c)
		}
	}
	fmt.Printf("%d passed, %d failed\n", results.pass, results.fail)
	if results.fail > 0 && code == 0 {
		code = 1
	}
	results.Unlock()
	os.Exit(code)
}

// ---- example topologies -----------------------------------------------------------------------

type exampleCase struct {
	Name     string
	Topology string
	Secrets  string // committed test-only bundle, or "" (the build makes one)
	Cluster  *model.Cluster
}

// skippedDirs under testdata hold no example topology.
var skippedDirs = []string{"invalid", "integration-negative"}

// exampleNamed is the example of testdata/NAME.
func exampleNamed(t *testing.T, name string) exampleCase {
	for _, e := range examples(t) {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("no example %s in testdata", name)
	return exampleCase{}
}

func examples(t *testing.T) []exampleCase {
	root := testkit.RepoRoot(t)
	paths, err := filepath.Glob(filepath.Join(root, "testdata", "*", "topology.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []exampleCase
	for _, p := range paths {
		name := filepath.Base(filepath.Dir(p))
		if slices.Contains(skippedDirs, name) {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		c, rep, err := topology.Parse(p, data)
		if err != nil {
			t.Fatalf("%s: %v\n%s", p, err, rep.String())
		}
		ec := exampleCase{Name: name, Topology: p, Cluster: c}
		if s := filepath.Join(filepath.Dir(p), "secrets.yaml"); fileExists(s) {
			ec.Secrets = s
		}
		cases = append(cases, ec)
	}
	if len(cases) == 0 {
		t.Fatalf("no example topologies (testdata/*/topology.yaml) under %s", root)
	}
	return cases
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// builtCase is one example built twice: as written (what users get; ignition-validate and the
// file checks read it) and with sysext.baseURL on the loopback stand-in server (what Ignition
// applies, since the real image is on the internet).
type builtCase struct {
	exampleCase
	Orig, Test string // output directories
	Manifest   build.Manifest
	Init       build.NodeSummary
	InitYAML   []byte // the init node's /etc/kubernetes/kubeadm/init.yaml
	CACert     string // the cluster CA, written to a file
	Server     *testkit.SysextServer
}

func buildCase(t *testing.T, c exampleCase, srv *testkit.SysextServer) *builtCase {
	b := &builtCase{exampleCase: c, Server: srv}
	b.Orig, b.Manifest = testkit.Build(t, c.Topology, c.Secrets)
	b.Test, _ = testkit.Build(t, testkit.WithDownloadsOn(t, c.Topology, c.Cluster, srv.URL), c.Secrets)
	for _, n := range b.Manifest.Nodes {
		if n.Phase == string(model.PhaseInit) {
			b.Init = n
		}
	}
	if b.Init.Name == "" {
		t.Fatalf("%s: no init node in the manifest", c.Name)
	}
	raw, err := os.ReadFile(filepath.Join(b.Orig, b.Init.File))
	if err != nil {
		t.Fatal(err)
	}
	_, files, err := ignfiles.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	initYAML, ca := ignfiles.Find(files, "/etc/kubernetes/kubeadm/init.yaml"), ignfiles.Find(files, "/etc/kubernetes/pki/ca.crt")
	if initYAML == nil || ca == nil {
		t.Fatalf("%s: init node %s has no init.yaml or ca.crt", c.Name, b.Init.Name)
	}
	b.InitYAML = initYAML.Data
	b.CACert = filepath.Join(t.TempDir(), "cluster-ca.crt")
	if err := os.WriteFile(b.CACert, ca.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// remote answers what Ignition must have written for a remote source: the stand-in the
// loopback server serves for a sysext image or Kubernetes binary URL.
func (b *builtCase) remote(url string) ([]byte, bool) {
	name, ok := strings.CutPrefix(url, b.Server.URL+"/")
	if !ok {
		return nil, false
	}
	return testkit.StandIn(name), true
}

// downloadBase is the base URL the topology gives the Kubernetes downloads (sysext or binaries).
func downloadBase(c *model.Cluster) string {
	if c.OS.Kubernetes.Source == osprofile.SourceBinaries {
		return c.Binaries.BaseURL
	}
	return c.Sysext.BaseURL
}

// checkSubstitution proves the download base URL (and, for binaries, the stand-ins' digests) is
// the only difference between the configs Ignition applies and the ones users get: after
// replacing the loopback URL with the real base URL and each stand-in digest with the
// topology's in the decoded test configs, both builds are equal, and the admin kubeconfig is
// identical.
func checkSubstitution(b *builtCase) error {
	base := downloadBase(b.Cluster)
	pairs := []string{b.Server.URL, base}
	if b.Cluster.OS.Kubernetes.Source == osprofile.SourceBinaries {
		for name, sum := range testkit.BinaryDigests(b.Cluster, b.Server.URL) {
			pairs = append(pairs, sum, b.Cluster.Binaries.SHA256[name])
		}
	}
	undo := strings.NewReplacer(pairs...)
	var errs []string
	for _, n := range b.Manifest.Nodes {
		orig, err := normalized(filepath.Join(b.Orig, n.File))
		if err != nil {
			return err
		}
		test, err := normalized(filepath.Join(b.Test, n.File))
		if err != nil {
			return err
		}
		if strings.Contains(orig, base) && !strings.Contains(test, b.Server.URL) {
			errs = append(errs, n.File+": the loopback URL is not in the test build")
		}
		if undo.Replace(test) != orig {
			errs = append(errs, n.File+": the test build differs from the real one by more than the download base URL and digests")
		}
	}
	k1, _ := os.ReadFile(filepath.Join(b.Orig, build.KubeconfigFile))
	k2, _ := os.ReadFile(filepath.Join(b.Test, build.KubeconfigFile))
	if len(k1) == 0 || string(k1) != string(k2) {
		errs = append(errs, "admin.kubeconfig differs between the builds")
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return nil
}

// normalized is a config as JSON with every inline file decoded, so text inside data URLs
// (base64 or percent-encoded) can be compared.
func normalized(p string) (string, error) {
	raw, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	cfg, files, err := ignfiles.Parse(raw)
	if err != nil {
		return "", err
	}
	for i := range cfg.Storage.Files {
		f := &cfg.Storage.Files[i]
		if df := ignfiles.Find(files, f.Path); df != nil && df.Source == "" {
			s := "decoded:" + string(df.Data)
			f.Contents.Source, f.Contents.Compression = &s, nil
		}
	}
	out, err := json.Marshal(cfg)
	return string(out), err
}

// TestExamples runs every check on every node of every example topology.
func TestExamples(t *testing.T) {
	srv := testkit.ServeSysext(t)
	for _, c := range examples(t) {
		t.Run(c.Name, func(t *testing.T) {
			b := buildCase(t, c, srv)
			record(t, "build-substitution", c.Name, checkSubstitution(b))
			record(t, "admin-kubeconfig", c.Name+"/"+build.KubeconfigFile,
				checkAdminKubeconfig(t, filepath.Join(b.Orig, build.KubeconfigFile), b.CACert, b.Manifest.Endpoint))
			kubeadm := testkit.ToolVersion(t, "kubeadm", c.Cluster.Kubernetes.Version)
			for _, n := range b.Manifest.Nodes {
				t.Run(n.Name, func(t *testing.T) {
					t.Parallel()
					checkNode(t, b, n, kubeadm)
				})
			}
		})
	}
}

func checkNode(t *testing.T, b *builtCase, n build.NodeSummary, kubeadm string) {
	subject := b.Name + "/" + n.Name
	// What each node must have comes from the role table, as it does for the build.
	role := model.Role(n.Role)
	spec, balances := role.Spec(), role.Balances(b.Cluster.ExternalLB)
	isInit := n.Phase == string(model.PhaseInit)
	var node model.Node
	for _, mn := range b.Cluster.Nodes {
		if mn.Name == n.Name {
			node = mn
		}
	}

	record(t, "ignition-validate", subject, checkIgnitionValidate(t, filepath.Join(b.Orig, n.File)))
	root, err := checkIgnitionApply(t, filepath.Join(b.Test, n.File), b.Cluster.OS.User, b.remote)
	if !record(t, "ignition-apply", subject, err) && (root == "" || !fileExists(filepath.Join(root, "etc/.ignition-result.json"))) {
		return // nothing applied: the other checks would only repeat the failure
	}
	record(t, "node-secrets", subject, checkNodeSecrets(root, b.expectedSecrets(t, role)))
	record(t, "role-files", subject, checkRoleFiles(root, b.Cluster, spec, balances))
	record(t, "scripts", subject, checkScripts(t, root))
	if b.Cluster.OS.Network == "networkmanager" {
		record(t, "nm-keyfile", subject, checkNMKeyfile(t, root, nmExpectFor(b.Cluster, node)))
	}

	if containers, _ := filepath.Glob(filepath.Join(root, "etc/containers/systemd/*.container")); balances || len(containers) > 0 {
		services, err := checkQuadlet(t, root)
		if err == nil {
			err = checkBalancerUnits(services, balances)
		}
		record(t, "quadlet", subject, err)
	}

	// The units this node must have: its phase's, the balancers', and every unit the config writes
	// or gives drop-ins. A node whose role has none (a management node) must have none at all.
	var want []string
	switch {
	case isInit:
		want = append(want, "kubeadm-init.service")
	case spec.Kubernetes:
		want = append(want, "kubeadm-join.service")
	}
	if balances {
		want = append(want, "keepalived.service", "haproxy.service")
	}
	enabled := 0
	ign, err := parseIgnition(filepath.Join(b.Orig, n.File))
	if err == nil {
		for _, u := range ign.Systemd.Units {
			if (u.Contents != nil || len(u.Dropins) > 0) && (u.Mask == nil || !*u.Mask) {
				want = append(want, u.Name)
			}
			if u.Enabled != nil {
				enabled++
			}
		}
	}
	if err == nil && len(want) == 0 {
		record(t, "no-units", subject, checkNoUnits(t, root))
	} else if err == nil {
		var units []string
		units, err = checkSystemdVerify(t, root)
		for _, w := range want {
			if err == nil && !slices.Contains(units, w) {
				err = fmt.Errorf("%s was not among the verified units %v", w, units)
			}
		}
		// A node that is no Kubernetes member must not try to join.
		for _, u := range []string{"kubeadm-init.service", "kubeadm-join.service", "kubelet.service"} {
			if err == nil && !spec.Kubernetes && slices.Contains(units, u) && fileExists(filepath.Join(root, "etc/systemd/system", u)) {
				err = fmt.Errorf("%s node has %s", role, u)
			}
		}
		record(t, "systemd-verify", subject, err)
	} else {
		record(t, "systemd-verify", subject, err)
	}
	// Presets are what Ignition writes for units it enables or disables (Quadlet's generated
	// units need none): a node without any must have no preset file either.
	if enabled > 0 {
		record(t, "systemd-preset", subject, checkSystemdPreset(t, root))
	} else {
		record(t, "no-presets", subject, checkNoPresets(root))
	}

	if balances {
		record(t, "haproxy", subject, checkHAProxy(t, root))
		addr := netip.PrefixFrom(node.IP, b.Cluster.Network.CIDR.Bits())
		record(t, "keepalived", subject, checkKeepalived(t, root, b.Cluster.Network.Interface, addr))
		record(t, "haproxy-backends", subject, checkBackends(root, b.Cluster))
	}
	if spec.Kubectl {
		record(t, "node-kubeconfig", subject, checkNodeKubeconfig(t, filepath.Join(root, nodeCredentialFile(b.Cluster)),
			b.CACert, b.Manifest.Endpoint, spec.AdminCredential && b.Cluster.ManagementCredentials()))
	}
	if !spec.Kubernetes {
		return
	}

	cfg := "etc/kubernetes/kubeadm/join.yaml"
	if isInit {
		cfg = "etc/kubernetes/kubeadm/init.yaml"
	}
	runtimeCfgs := []string{cfg}
	if isInit {
		runtimeCfgs = append(runtimeCfgs, "etc/kubernetes/kubeadm/join.yaml")
	}
	if spec.APIServer {
		runtimeCfgs = append(runtimeCfgs, "etc/kubernetes/kubeadm/renew.yaml")
	}
	record(t, "runtime", subject+" ("+b.Cluster.Runtime.Name+")", checkRuntime(t, root, b.Cluster.OS, b.Cluster.Runtime, testkit.StandIn, runtimeCfgs))
	err = checkKubeadmValidate(kubeadm, filepath.Join(root, cfg))
	record(t, "kubeadm-validate", subject+" ("+path.Base(cfg)+")", err)
	if isInit {
		// A re-provisioned init node joins with this one (init-or-join).
		join := "etc/kubernetes/kubeadm/join.yaml"
		record(t, "kubeadm-validate", subject+" ("+path.Base(join)+", re-provisioned)", checkKubeadmValidate(kubeadm, filepath.Join(root, join)))
	}
	if spec.APIServer {
		// renew-certs' configuration for kubeadm certs check-expiration and renew.
		renew := "etc/kubernetes/kubeadm/renew.yaml"
		record(t, "kubeadm-validate", subject+" ("+path.Base(renew)+")", checkKubeadmValidate(kubeadm, filepath.Join(root, renew)))
	}

	if spec.APIServer {
		kn := kubeadmNode{Name: n.Name, IP: node.IP, VIP: b.Cluster.Endpoint.VIP}
		if !isInit {
			// What `kubeadm join --control-plane` combines: the cluster's ClusterConfiguration
			// (the init node's) and this node's join settings, which must name this node.
			join, _ := os.ReadFile(filepath.Join(root, cfg))
			name := lookupYAML(join, "JoinConfiguration", "nodeRegistration", "name")
			adv := lookupYAML(join, "JoinConfiguration", "controlPlane", "localAPIEndpoint", "advertiseAddress")
			if name != n.Name || adv != node.IP.String() {
				record(t, "kubeadm-certs", subject, fmt.Errorf("join.yaml names node %q at %q, want %q at %s", name, adv, n.Name, node.IP))
				return
			}
		}
		record(t, "kubeadm-certs", subject, checkKubeadmCerts(t, kubeadm, root, b.InitYAML, kn))
	}
	if !isInit {
		record(t, "ca-hash", subject, checkCAHash(t, root))
	}
}
