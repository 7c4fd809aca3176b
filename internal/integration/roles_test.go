//go:build integration

package integration

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/pki"
	"github.com/ignigen/ignigen/internal/secrets"
	"github.com/ignigen/ignigen/internal/testkit"
)

// ---- what a node of each role holds, read from the role table --------------------------------

// caKeyFiles are the private keys of the CA set (model.RoleSpec.CASet).
var caKeyFiles = []string{"/etc/kubernetes/pki/ca.key", "/etc/kubernetes/pki/front-proxy-ca.key", "/etc/kubernetes/pki/etcd/ca.key", "/etc/kubernetes/pki/sa.key"}

// nodeCredentialFile is where a management node's kubeconfig (and credential, if any) lives:
// in the home of the OS's login user.
func nodeCredentialFile(c *model.Cluster) string { return c.OS.User.Home + "/.kube/config" }

// helmPath is where a management node's helm wrapper is, per profile: on Flatcar /opt/bin (in its
// PATH), on Fedora CoreOS /usr/local/bin (/opt/bin is not in its PATH).
func helmPath(c *model.Cluster) string {
	if c.Profile == "flatcar" {
		return "/opt/bin/helm"
	}
	return "/usr/local/bin/helm"
}

// secretSet is the secret material an applied root may hold: the files with a private key (PEM
// or a kubeconfig's client-key-data) and whether the bootstrap token is anywhere on it.
type secretSet struct {
	Keys  []string
	Token bool
	// token is the bundle's bootstrap token; adminKey the operator's admin key, on no node ever.
	token, adminKey string
}

// expectedSecrets is what the role table grants a node of role r in this build.
func (b *builtCase) expectedSecrets(t *testing.T, r model.Role) secretSet {
	t.Helper()
	path := b.Secrets
	if path == "" {
		path = filepath.Join(b.Orig, "secrets.yaml")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := secrets.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	spec := r.Spec()
	want := secretSet{Token: spec.BootstrapToken, token: bundle.BootstrapToken, adminKey: bundle.Admin.Key}
	switch {
	case spec.CASet:
		want.Keys = slices.Clone(caKeyFiles)
	case spec.AdminCredential && b.Cluster.ManagementCredentials():
		want.Keys = []string{nodeCredentialFile(b.Cluster)}
	}
	sort.Strings(want.Keys)
	return want
}

// checkNodeSecrets walks the whole applied root (not only the files the config lists, so a key
// arriving by any path counts) and compares the secret material found with want.
func checkNodeSecrets(root string, want secretSet) error {
	secretToken := want.token[strings.IndexByte(want.token, '.')+1:]
	var got secretSet
	var errs []error
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := "/" + strings.TrimPrefix(p, root+"/")
		// The Flatcar-shaped /usr of the test root is the host's, not the config's.
		if d.IsDir() && (rel == "/usr" || rel == "/proc" || rel == "/sys") {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte("PRIVATE KEY")) || bytes.Contains(data, []byte("client-key-data")) {
			got.Keys = append(got.Keys, rel)
		}
		if bytes.Contains(data, []byte(secretToken)) {
			got.Token = true
		}
		if bytes.Contains(data, []byte(want.adminKey)) {
			errs = append(errs, fmt.Errorf("%s holds the operator's admin key", rel))
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(got.Keys)
	if !slices.Equal(got.Keys, want.Keys) {
		errs = append(errs, fmt.Errorf("private keys in %v, the role table grants %v", got.Keys, want.Keys))
	}
	if got.Token != want.Token {
		errs = append(errs, fmt.Errorf("bootstrap token on the node: %v, the role table says %v", got.Token, want.Token))
	}
	return errors.Join(errs...)
}

// ---- the files that make a role ---------------------------------------------------------------

// roleFile is a file a node has exactly when its role says so.
type roleFile struct {
	Path string
	Has  func(spec model.RoleSpec, balances bool) bool
}

func roleFiles(c *model.Cluster) []roleFile {
	return []roleFile{
		{"/etc/keepalived/keepalived.conf", func(_ model.RoleSpec, bal bool) bool { return bal }},
		{"/etc/haproxy/haproxy.cfg", func(_ model.RoleSpec, bal bool) bool { return bal }},
		{"/etc/containers/systemd/keepalived.container", func(_ model.RoleSpec, bal bool) bool { return bal }},
		{"/etc/containers/systemd/haproxy.container", func(_ model.RoleSpec, bal bool) bool { return bal }},
		{"/etc/sysctl.d/60-ignigen-nonlocal-bind.conf", func(_ model.RoleSpec, bal bool) bool { return bal }},
		{"/etc/modules-load.d/kubernetes.conf", func(s model.RoleSpec, _ bool) bool { return s.Kubernetes }},
		{"/etc/systemd/system/kubelet.service.d/20-ignigen-node-ip.conf", func(s model.RoleSpec, _ bool) bool { return s.Kubernetes }},
		{"/etc/kubernetes/pki/ca.key", func(s model.RoleSpec, _ bool) bool { return s.CASet }},
		{"/etc/ignigen/ca.crt", func(s model.RoleSpec, _ bool) bool { return s.Kubernetes || s.Kubectl }},
		{nodeCredentialFile(c), func(s model.RoleSpec, _ bool) bool { return s.Kubectl }},
		{helmPath(c), func(s model.RoleSpec, _ bool) bool { return s.Kubectl }},
	}
}

// checkRoleFiles: the applied root has each role file exactly when the role table says so, and
// a kubeadm unit exactly when the node is a Kubernetes member.
func checkRoleFiles(root string, c *model.Cluster, spec model.RoleSpec, balances bool) error {
	var errs []error
	for _, f := range roleFiles(c) {
		want := f.Has(spec, balances)
		if got := fileExists(filepath.Join(root, f.Path)); got != want {
			errs = append(errs, fmt.Errorf("%s: present %v, the role table says %v for %s", f.Path, got, want, spec.Role))
		}
	}
	init, join := fileExists(filepath.Join(root, "etc/systemd/system/kubeadm-init.service")), fileExists(filepath.Join(root, "etc/systemd/system/kubeadm-join.service"))
	if (init || join) != spec.Kubernetes {
		errs = append(errs, fmt.Errorf("kubeadm init/join units present %v, the role table says Kubernetes member %v for %s", init || join, spec.Kubernetes, spec.Role))
	}
	return errors.Join(errs...)
}

// checkBalancerUnits: Quadlet generated keepalived and HAProxy exactly on balancing nodes.
func checkBalancerUnits(services []string, balances bool) error {
	for _, s := range []string{"keepalived.service", "haproxy.service"} {
		if slices.Contains(services, s) != balances {
			return fmt.Errorf("quadlet generated %v; %s expected: %v", services, s, balances)
		}
	}
	return nil
}

// ---- HAProxy's backends -----------------------------------------------------------------------

// checkBackends: the applied haproxy.cfg's kube-apiserver backend lists exactly the API servers
// of the role table and the reserved addresses, each on the bind port.
func checkBackends(root string, c *model.Cluster) error {
	data, err := os.ReadFile(filepath.Join(root, "etc/haproxy/haproxy.cfg"))
	if err != nil {
		return err
	}
	var got []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0 || strings.HasPrefix(fields[0], "#"):
		case fields[0] == "backend":
			in = len(fields) > 1 && fields[1] == "kube-apiserver"
		case fields[0] == "frontend" || fields[0] == "defaults" || fields[0] == "global" || fields[0] == "listen":
			in = false
		case in && fields[0] == "server" && len(fields) > 2:
			got = append(got, fields[2])
		}
	}
	var want []string
	for _, n := range c.APIServers() {
		want = append(want, netip.AddrPortFrom(n.IP, uint16(c.Endpoint.BindPort)).String())
	}
	for _, ip := range c.ReservedControlPlane {
		want = append(want, netip.AddrPortFrom(ip, uint16(c.Endpoint.BindPort)).String())
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("backend kube-apiserver servers %v, want the API servers and reserved addresses %v", got, want)
	}
	return nil
}

// ---- a management node's kubeconfig -----------------------------------------------------------

// checkNodeKubeconfig: a management node's kubeconfig points at the endpoint and trusts exactly
// the cluster CA; with a credential, its client certificate verifies against the CA (openssl),
// is in group model.ManagementGroup and never in system:masters, and its key matches.
func checkNodeKubeconfig(t testing.TB, kubeconfig, clusterCA, endpoint string, credential bool) error {
	kc, err := readKubeconfig(kubeconfig)
	if err != nil {
		return err
	}
	if !credential {
		var errs []error
		if want, _ := os.ReadFile(clusterCA); !bytes.Equal(bytes.TrimSpace(want), bytes.TrimSpace(kc.CA)) {
			errs = append(errs, fmt.Errorf("certificate-authority-data is not the cluster CA"))
		}
		if kc.Server != endpoint {
			errs = append(errs, fmt.Errorf("server %s, want %s", kc.Server, endpoint))
		}
		if len(kc.Key) > 0 || len(kc.Cert) > 0 {
			errs = append(errs, fmt.Errorf("holds a client credential the topology did not ask for"))
		}
		return errors.Join(errs...)
	}
	if err := checkAdminKubeconfig(t, kubeconfig, clusterCA, endpoint); err != nil {
		return err
	}
	cert, err := pki.ParseCert(kc.Cert)
	if err != nil {
		return err
	}
	if !slices.Equal(cert.Subject.Organization, []string{model.ManagementGroup}) {
		return fmt.Errorf("client certificate %q in groups %v, want only %s", cert.Subject.CommonName, cert.Subject.Organization, model.ManagementGroup)
	}
	if !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		return fmt.Errorf("client certificate without client-auth usage")
	}
	return nil
}

// exampleWhere is the first example topology whose cluster satisfies keep.
func exampleWhere(t *testing.T, keep func(*model.Cluster) bool) exampleCase {
	t.Helper()
	for _, c := range examples(t) {
		if keep(c.Cluster) {
			return c
		}
	}
	t.Fatal("no example topology fits this negative control")
	return exampleCase{}
}

// negativeRoles breaks real applied roots of an external-balancer cluster (load-balancer,
// control-plane and management nodes) in the ways the role checks exist to catch.
func negativeRoles(t *testing.T) {
	srv := testkit.ServeSysext(t)
	b := buildCase(t, exampleWhere(t, func(c *model.Cluster) bool { return c.ExternalLB && c.ManagementCredentials() }), srv)
	applied := map[model.Role]string{} // role -> applied root of its first node
	files := map[model.Role]string{}   // role -> config file name
	for _, n := range b.Manifest.Nodes {
		r := model.Role(n.Role)
		if _, ok := applied[r]; !ok {
			applied[r], files[r] = testkit.Apply(t, filepath.Join(b.Test, n.File)), n.File
		}
	}
	lb, cp, mgmt := applied[model.LoadBalancer], applied[model.ControlPlane], applied[model.Management]
	if lb == "" || cp == "" || mgmt == "" {
		t.Fatalf("%s lacks a load-balancer, control-plane or management node", b.Name)
	}
	lbSpec := model.LoadBalancer.Spec()
	subject := func(r model.Role, what string) string { return fmt.Sprintf("%s/%s (%s)", b.Name, files[r], what) }

	// Each input passes before it is broken, so the rejection is the breakage's.
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("unbroken input fails %s: %v", what, err)
		}
	}
	must("node-secrets", checkNodeSecrets(lb, b.expectedSecrets(t, model.LoadBalancer)))
	must("role-files", checkRoleFiles(lb, b.Cluster, lbSpec, true))
	must("haproxy-backends", checkBackends(lb, b.Cluster))
	kubeconfig := filepath.Join(mgmt, strings.TrimPrefix(nodeCredentialFile(b.Cluster), "/"))
	must("node-kubeconfig", checkNodeKubeconfig(t, kubeconfig, b.CACert, b.Manifest.Endpoint, true))
	must("no-units", checkNoUnits(t, mgmt))
	must("no-presets", checkNoPresets(lb))

	// node-secrets: a CA key, or the bootstrap token, reaching a load-balancer node.
	caKey, err := os.ReadFile(filepath.Join(cp, "etc/kubernetes/pki/ca.key"))
	testkit.Must(t, err)
	leak := filepath.Join(lb, "etc/keepalived/leaked.key")
	testkit.Must(t, os.WriteFile(leak, caKey, 0o600))
	negative(t, "node-secrets", subject(model.LoadBalancer, "the CA key copied in"), checkNodeSecrets(lb, b.expectedSecrets(t, model.LoadBalancer)))
	join, err := os.ReadFile(filepath.Join(cp, "etc/kubernetes/kubeadm/join.yaml"))
	if err != nil { // cp may be the init node
		join, err = os.ReadFile(filepath.Join(cp, "etc/kubernetes/kubeadm/init.yaml"))
	}
	testkit.Must(t, err)
	testkit.Must(t, os.WriteFile(leak, join, 0o600)) // the kubeadm config: holds the token, no key
	negative(t, "node-secrets", subject(model.LoadBalancer, "a kubeadm config with the bootstrap token copied in"), checkNodeSecrets(lb, b.expectedSecrets(t, model.LoadBalancer)))
	testkit.Must(t, os.Remove(leak))

	// role-files: a load-balancer root is no control-plane node; a control-plane root of an
	// external cluster is no balancer.
	negative(t, "role-files", subject(model.LoadBalancer, "checked as a control-plane node"), checkRoleFiles(lb, b.Cluster, model.ControlPlane.Spec(), false))
	negative(t, "role-files", subject(model.ControlPlane, "checked as a balancing node"), checkRoleFiles(cp, b.Cluster, model.ControlPlane.Spec(), true))

	// haproxy-backends: one API server dropped from the backend.
	cfgPath := filepath.Join(lb, "etc/haproxy/haproxy.cfg")
	cfg, err := os.ReadFile(cfgPath)
	testkit.Must(t, err)
	var kept []string
	dropped := false
	for _, line := range strings.Split(string(cfg), "\n") {
		if !dropped && strings.HasPrefix(strings.TrimSpace(line), "server ") {
			dropped = true
			continue
		}
		kept = append(kept, line)
	}
	testkit.Must(t, os.WriteFile(cfgPath, []byte(strings.Join(kept, "\n")), 0o644))
	negative(t, "haproxy-backends", subject(model.LoadBalancer, "one server line removed"), checkBackends(lb, b.Cluster))

	// node-kubeconfig: the operator's admin kubeconfig (system:masters) in the management
	// node's place; and a credential where the topology asked for none.
	negative(t, "node-kubeconfig", subject(model.Management, "credential present, none asked for"), checkNodeKubeconfig(t, kubeconfig, b.CACert, b.Manifest.Endpoint, false))
	admin, err := os.ReadFile(filepath.Join(b.Orig, "admin.kubeconfig"))
	testkit.Must(t, err)
	testkit.Must(t, os.WriteFile(kubeconfig, admin, 0o600))
	negative(t, "node-kubeconfig", subject(model.Management, "the operator's admin.kubeconfig in its place"), checkNodeKubeconfig(t, kubeconfig, b.CACert, b.Manifest.Endpoint, true))

	// no-units / no-presets: a kubelet unit on the management node, a preset on a load balancer.
	unitDir := filepath.Join(mgmt, "etc/systemd/system")
	testkit.Must(t, os.MkdirAll(unitDir, 0o755))
	testkit.Must(t, os.WriteFile(filepath.Join(unitDir, "kubelet.service"), []byte("[Service]\nExecStart=/usr/bin/kubelet\n"), 0o644))
	negative(t, "no-units", subject(model.Management, "a kubelet unit planted"), checkNoUnits(t, mgmt))
	presetDir := filepath.Join(lb, "etc/systemd/system-preset")
	testkit.Must(t, os.MkdirAll(presetDir, 0o755))
	testkit.Must(t, os.WriteFile(filepath.Join(presetDir, "20-ignition.preset"), []byte("enable kubelet.service\n"), 0o644))
	negative(t, "no-presets", subject(model.LoadBalancer, "a preset enabling kubelet planted"), checkNoPresets(lb))
}
