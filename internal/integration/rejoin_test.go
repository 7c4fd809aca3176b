//go:build integration

package integration

// TestRejoinPrepareKubeadm runs what rejoin-prepare and renew-certs ask of kubeadm on a joining
// control-plane node, on a root Ignition really wrote, with the real kubeadm, inside a network
// namespace with no route at all: a node's renew.yaml names its own address, so kubeadm must not
// need a default route to make the etcd health-check client certificate or to check expiry.
// Negative control: the same file without its InitConfiguration must fail there.

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/testkit"
)

const renewConfig = "/etc/kubernetes/kubeadm/renew.yaml" // inside the node's root

func TestRejoinPrepareKubeadm(t *testing.T) {
	c := exampleNamed(t, "flatcar-ha")
	b := buildCase(t, c, testkit.ServeSysext(t))
	var joining string
	for _, n := range b.Manifest.Nodes {
		if n.Role == string(model.ControlPlane) && n.Phase != string(model.PhaseInit) {
			joining = n.File
			break
		}
	}
	if joining == "" {
		t.Fatal("flatcar-ha has no joining control-plane node")
	}
	root := testkit.Apply(t, filepath.Join(b.Test, joining))
	kubeadm := testkit.ToolVersion(t, "kubeadm", c.Cluster.Kubernetes.Version)

	ip := testkit.HostTool(t, "ip")
	ns := fmt.Sprintf("ig-rejoin-%d", os.Getpid())
	if r := testkit.Run(cmdTimeout, nil, ip, "netns", "add", ns); r.Err != nil {
		t.Fatalf("%s", fail(r, "ip netns add"))
	}
	t.Cleanup(func() { testkit.Run(cmdTimeout, nil, ip, "netns", "del", ns) })
	inNS := func(config string, args ...string) testkit.Result {
		args = append([]string{"netns", "exec", ns, kubeadm, "--rootfs", root}, args...)
		return testkit.Run(cmdTimeout, nil, ip, append(args, "--config", config)...)
	}
	if r := testkit.Run(cmdTimeout, nil, ip, "netns", "exec", ns, ip, "route", "show", "default"); r.Err != nil || strings.TrimSpace(r.Stdout) != "" {
		t.Fatalf("the namespace has a default route or cannot say: %q %v", r.Stdout, r.Err)
	}

	if r := inNS(renewConfig, "init", "phase", "certs", "etcd-healthcheck-client"); r.Err != nil {
		t.Fatalf("%s", fail(r, "kubeadm init phase certs etcd-healthcheck-client with the node's renew.yaml, no default route"))
	}
	checkSignedBy(t, filepath.Join(root, "etc/kubernetes/pki/etcd/healthcheck-client.crt"), filepath.Join(root, "etc/kubernetes/pki/etcd/ca.crt"))
	if r := inNS(renewConfig, "certs", "check-expiration"); r.Err != nil || !strings.Contains(r.Stdout, "etcd-healthcheck-client") {
		t.Fatalf("%s", fail(r, "kubeadm certs check-expiration with the node's renew.yaml, no default route"))
	}

	// Negative control: the ClusterConfiguration alone leaves kubeadm to guess the address.
	raw, err := os.ReadFile(filepath.Join(root, renewConfig))
	if err != nil {
		t.Fatal(err)
	}
	var clusterOnly []string
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		if !strings.Contains(doc, "kind: InitConfiguration") {
			clusterOnly = append(clusterOnly, doc)
		}
	}
	if len(clusterOnly) != 1 {
		t.Fatalf("renew.yaml: want an InitConfiguration and a ClusterConfiguration, got:\n%s", raw)
	}
	broken := "/etc/kubernetes/kubeadm/renew-cluster-only.yaml"
	if err := os.WriteFile(filepath.Join(root, broken), []byte(clusterOnly[0]), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := inNS(broken, "init", "phase", "certs", "etcd-healthcheck-client"); r.Err == nil {
		t.Errorf("negative control: kubeadm made the certificate from a ClusterConfiguration alone without a default route; the test cannot tell")
	} else {
		t.Logf("negative control failed as it must: %s", strings.TrimSpace(r.Output()))
	}
}

// checkSignedBy fails unless the PEM certificate at leaf is signed by the one at ca.
func checkSignedBy(t *testing.T, leaf, ca string) {
	t.Helper()
	load := func(p string) *x509.Certificate {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(raw)
		if block == nil {
			t.Fatalf("%s: no PEM block", p)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return cert
	}
	if err := load(leaf).CheckSignatureFrom(load(ca)); err != nil {
		t.Errorf("%s is not signed by %s: %v", leaf, ca, err)
	}
}
