//go:build integration

package integration

// TestRenewCerts runs the renew-certs script a control-plane node gets, on a root Ignition
// really wrote, with the real kubeadm: fresh certificates are left alone byte for byte, and the
// ones re-issued with a short lifetime are renewed (and only those).

import (
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ignigen/ignigen/internal/testkit"
)

// shortLived are the certificates the test re-issues to expire in 10 days, with the CA
// (under pki/) that signs each and the static pod whose restart renew-certs owes afterwards.
var shortLived = []struct{ name, file, ca, pod string }{
	{"apiserver", "pki/apiserver.crt", "pki/ca", "kube-apiserver"},
	{"etcd-server", "pki/etcd/server.crt", "pki/etcd/ca", "etcd"},
	{"front-proxy-client", "pki/front-proxy-client.crt", "pki/front-proxy-ca", "kube-apiserver"},
	{"scheduler.conf", "scheduler.conf", "pki/ca", "kube-scheduler"},
}

func TestRenewCerts(t *testing.T) {
	c := exampleNamed(t, "flatcar-ha")
	b := buildCase(t, c, testkit.ServeSysext(t))
	root := testkit.Apply(t, filepath.Join(b.Test, b.Init.File))
	kubeadm := testkit.ToolVersion(t, "kubeadm", c.Cluster.Kubernetes.Version)
	k8s := filepath.Join(root, "etc/kubernetes")

	// What kubeadm init writes before it needs a kubelet, from the node's own configuration.
	for _, phase := range [][]string{{"certs", "all"}, {"kubeconfig", "all"}, {"control-plane", "all"}, {"etcd", "local"}} {
		args := append([]string{"--rootfs", root, "init", "phase"}, phase...)
		if r := testkit.Run(cmdTimeout, nil, kubeadm, append(args, "--config", "/etc/kubernetes/kubeadm/init.yaml")...); r.Err != nil {
			t.Fatalf("%s", fail(r, "kubeadm init phase "+strings.Join(phase, " ")))
		}
	}
	script := filepath.Join(root, "opt/ignigen/bin/renew-certs")
	renew := func() testkit.Result {
		// The unit's own environment, plus the root; PATH supplies date, awk, curl as on Flatcar.
		return testkit.Run(cmdTimeout, []string{"IGNIGEN_ROOTFS=" + root, "IGNIGEN_KUBEADM=" + kubeadm,
			"IGNIGEN_RENEW_MARGIN_DAYS=90", "IGNIGEN_APISERVER_PORT=6444"}, "/bin/bash", script)
	}

	// Negative control: fresh certificates. Nothing may change, and the script says so.
	before := testkit.HashTree(t, k8s)
	r := renew()
	if r.Err != nil || !strings.Contains(r.Stdout, "nothing renewed") {
		t.Fatalf("%s", fail(r, "renew-certs on fresh certificates"))
	}
	if diff := testkit.ChangedFiles(before, testkit.HashTree(t, k8s)); len(diff) > 0 {
		t.Fatalf("renew-certs changed %v although every certificate was fresh\n%s", diff, r.Output())
	}
	fmt.Printf("PASS renew-certs fresh certificates left alone (%d files, hashes unchanged)\n", len(before))

	// Re-issue some leaf certificates to expire in 10 days, as if a year had passed.
	deadline := time.Now().Add(10 * 24 * time.Hour)
	for _, s := range shortLived {
		if err := testkit.ShortenCert(k8s, s.file, s.ca, deadline); err != nil {
			t.Fatal(err)
		}
		if got := leaf(t, k8s, s.file); !got.NotAfter.Equal(deadline.Truncate(time.Second)) {
			t.Fatalf("%s now expires %v, want %v", s.file, got.NotAfter, deadline)
		}
	}
	before = testkit.HashTree(t, k8s)
	r = renew()
	if r.Err != nil {
		t.Fatalf("%s", fail(r, "renew-certs on short-lived certificates"))
	}
	t.Logf("renew-certs:\n%s", r.Output())
	var names, wantChanged []string
	for _, s := range shortLived {
		names = append(names, s.name)
		wantChanged = append(wantChanged, s.file)
		if key, ok := strings.CutSuffix(s.file, ".crt"); ok {
			wantChanged = append(wantChanged, key+".key") // kubeadm renews with a new key
		}
	}
	slices.Sort(names)
	if want := "renewed (expiring within 90 days): " + strings.Join(names, " "); !strings.Contains(r.Stdout, want) {
		t.Errorf("renew-certs output lacks %q", want)
	}
	slices.Sort(wantChanged)
	if got := testkit.ChangedFiles(before, testkit.HashTree(t, k8s)); !slices.Equal(got, wantChanged) {
		t.Errorf("renew-certs changed %v, want exactly %v", got, wantChanged)
	}
	openssl := testkit.HostTool(t, "openssl")
	for _, s := range shortLived {
		cert := leaf(t, k8s, s.file)
		if left := time.Until(cert.NotAfter); left < 360*24*time.Hour {
			t.Errorf("%s after renewal expires in %v, want about a year", s.file, left.Round(time.Hour))
		}
		if !strings.HasSuffix(s.file, ".conf") {
			if r := testkit.Run(cmdTimeout, nil, openssl, "verify", "-CAfile", filepath.Join(k8s, s.ca+".crt"), filepath.Join(k8s, s.file)); r.Err != nil {
				t.Errorf("%s", fail(r, "renewed "+s.file+" does not verify against "+s.ca))
			}
		}
	}
	if got := leaf(t, k8s, "pki/apiserver.crt"); !slices.ContainsFunc(got.IPAddresses, func(ip net.IP) bool { return ip.String() == b.Cluster.Endpoint.VIP.String() }) {
		t.Errorf("renewed apiserver.crt lost the VIP from its SANs: %v", got.IPAddresses)
	}
	// The restarts owed, in order; a root that is not this machine's is never restarted.
	pending, err := os.ReadFile(filepath.Join(root, "var/lib/ignigen/renew-certs.pending"))
	if err != nil || string(pending) != "etcd\nkube-apiserver\nkube-scheduler\n" {
		t.Errorf("pending restarts %q (%v), want etcd, kube-apiserver, kube-scheduler", pending, err)
	}
	if !strings.Contains(r.Stdout, "is not this machine's: not restarting etcd kube-apiserver kube-scheduler") {
		t.Errorf("renew-certs did not report the restarts it left undone")
	}
	// kubeadm itself agrees: nothing expires within the margin any more.
	r = testkit.Run(cmdTimeout, nil, kubeadm, "--rootfs", root, "certs", "check-expiration", "--config", "/etc/kubernetes/kubeadm/renew.yaml")
	if r.Err != nil || strings.Contains(r.Stdout, "<invalid>") || regexp.MustCompile(`\s([0-9]|[1-8][0-9])d\s`).MatchString(r.Stdout) {
		t.Errorf("%s", fail(r, "kubeadm certs check-expiration after renewal"))
	}
	fmt.Printf("PASS renew-certs renewed exactly %v with the real kubeadm\n", names)
}

// leaf reads a certificate (or a kubeconfig's client certificate) under k8s.
func leaf(t *testing.T, k8s, file string) *x509.Certificate {
	t.Helper()
	c, err := testkit.ReadLeaf(k8s, file)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
