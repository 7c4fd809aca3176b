//go:build boottest

package boottest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ignigen/ignigen/internal/testkit"
)

// renewed are the certificates certRenewal re-issues to expire in 10 days (file under
// /etc/kubernetes, signing CA) and the static pod renew-certs must restart for each.
var renewed = []struct{ name, file, ca, pod string }{
	{"apiserver", "pki/apiserver.crt", "pki/ca", "kube-apiserver"},
	{"etcd-server", "pki/etcd/server.crt", "pki/etcd/ca", "etcd"},
	{"scheduler.conf", "scheduler.conf", "pki/ca", "kube-scheduler"},
}

// certRenewal runs on an assembled cluster (TestBoot's: no boot of its own): on the init
// node (real systemd, kubelet, containerd, static pods), three of kubeadm's certificates are
// re-issued to expire in 10 days. Starting renew-certs.service, as its timer does, must renew
// exactly those with the node's kubeadm and restart etcd, kube-apiserver and kube-scheduler
// through the kubelet, one at a time; the API server then serves the renewed certificate
// (`ignigen certs --server` says so). A second run (the negative control) finds everything fresh
// and changes nothing: no file, no container.
func (c *cluster) certRenewal(t *testing.T) {
	m := c.model
	initName, initIP := c.initNode().Name, c.initNode().IP.String()
	var n *node
	for _, cn := range c.nodes {
		if cn.name == initName {
			n = cn
		}
	}
	if n == nil {
		t.Fatalf("boottest: BOOTTEST_NODES leaves out the init node %s", initName)
	}
	unit, err := os.ReadFile(filepath.Join(n.root, "etc/systemd/system/renew-certs.service"))
	if err != nil || !strings.Contains(string(unit), "ExecStartPre=/usr/bin/sleep 0\n") {
		t.Fatalf("boottest: %s's renew-certs.service should wait 0 s (slot 0): %v\n%s", n.name, err, unit)
	}
	pods := []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}
	var before map[string]string
	if !waitFor(2*time.Minute, 2*time.Second, func() bool { before = n.podSandboxes(); return len(before) == len(pods) }) {
		t.Fatalf("boottest: control-plane pods on %s: %v", n.name, before)
	}

	ignigen := buildIgnigen(t)
	server := fmt.Sprintf("https://%s:%d", initIP, m.Endpoint.BindPort)
	certs := func() (string, error) {
		return shErr("ip netns exec %s %s certs -o %s --server %s", clientNS, ignigen, c.out, server)
	}
	if out, err := certs(); err != nil {
		t.Fatalf("boottest: ignigen certs on the fresh cluster: %v\n%s", err, out)
	}

	k8s := filepath.Join(n.root, "etc/kubernetes")
	soon := time.Now().Add(10 * 24 * time.Hour)
	for _, s := range renewed {
		if err := testkit.ShortenCert(k8s, s.file, s.ca, soon); err != nil {
			t.Fatal(err)
		}
	}
	// kube-apiserver reloads its serving certificate from disk: ignigen certs sees it inside the margin.
	var out string
	if !waitFor(3*time.Minute, 5*time.Second, func() bool { out, err = certs(); return err != nil && strings.Contains(out, "RENEW") }) {
		t.Fatalf("boottest: ignigen certs never reported the short-lived serving certificate:\n%s", out)
	}
	logf("ignigen certs before renewal (exit non-zero, as it must):\n%s", out)

	hashes := testkit.HashTree(t, k8s)
	logf("starting renew-certs.service on %s", n.name)
	start := time.Now()
	journal := runRenew(t, n)
	logf("renew-certs took %.0fs:\n%s", time.Since(start).Seconds(), journal)
	var names, wantFiles, wantPods []string
	for _, s := range renewed {
		names, wantPods = append(names, s.name), append(wantPods, s.pod)
		wantFiles = append(wantFiles, s.file)
		if key, ok := strings.CutSuffix(s.file, ".crt"); ok {
			wantFiles = append(wantFiles, key+".key")
		}
	}
	slices.Sort(names)
	slices.Sort(wantFiles)
	slices.Sort(wantPods)
	if want := "renewed (expiring within 90 days): " + strings.Join(names, " "); !strings.Contains(journal, want) {
		t.Errorf("boottest: renew-certs journal lacks %q", want)
	}
	for _, p := range wantPods {
		if !strings.Contains(journal, p+" restarted and healthy") {
			t.Errorf("boottest: renew-certs did not restart %s", p)
		}
	}
	if got := testkit.ChangedFiles(hashes, testkit.HashTree(t, k8s)); !slices.Equal(got, wantFiles) {
		t.Errorf("boottest: renew-certs changed %v, want exactly %v (manifests back byte for byte)", got, wantFiles)
	}
	for _, s := range renewed {
		if cert, err := testkit.ReadLeaf(k8s, s.file); err != nil || time.Until(cert.NotAfter) < 360*24*time.Hour {
			t.Errorf("boottest: %s after renewal: %v (err %v)", s.file, cert.NotAfter, err)
		}
	}
	var after map[string]string
	waitFor(time.Minute, 2*time.Second, func() bool {
		after = n.podSandboxes()
		return len(after) == len(pods) && slices.Equal(restartedPods(before, after), wantPods)
	})
	logf("static pod sandboxes before %v, after %v", before, after)
	if got := restartedPods(before, after); !slices.Equal(got, wantPods) {
		t.Errorf("boottest: pods made anew: %v, want %v\nbefore %v\nafter  %v", got, wantPods, before, after)
	}
	if out, err := certs(); err != nil {
		t.Errorf("boottest: ignigen certs after renewal: %v\n%s", err, out)
	} else {
		logf("ignigen certs after renewal:\n%s", out)
	}

	// Negative control: everything is fresh now; a second run must leave files and pods alone.
	hashes, before = testkit.HashTree(t, k8s), after
	journal = runRenew(t, n)
	if !strings.Contains(journal, "nothing renewed") {
		t.Errorf("boottest: second renew-certs run did not say it renewed nothing:\n%s", journal)
	}
	if got := testkit.ChangedFiles(hashes, testkit.HashTree(t, k8s)); len(got) > 0 {
		t.Errorf("boottest: second renew-certs run changed %v", got)
	}
	time.Sleep(5 * time.Second)
	if got := restartedPods(before, n.podSandboxes()); len(got) > 0 {
		t.Errorf("boottest: second renew-certs run restarted %v", got)
	}
	fmt.Fprintf(os.Stderr, "RENEW-RESULT node=%s renewed=%s restarted=%s second-run=unchanged\n",
		n.name, strings.Join(names, ","), strings.Join(wantPods, ","))
}

// runRenew starts renew-certs.service in the node (systemctl waits for a oneshot) and returns
// that run's journal; the unit must succeed.
func runRenew(t *testing.T, n *node) string {
	t.Helper()
	out, err := n.exec("systemctl start renew-certs.service; echo result=$(systemctl show -p Result --value renew-certs.service); " +
		"journalctl --no-pager -o cat _SYSTEMD_INVOCATION_ID=$(systemctl show -p InvocationID --value renew-certs.service)")
	if err != nil || !strings.Contains(out, "result=success") {
		t.Fatalf("boottest: renew-certs.service on %s failed: %v\n%s", n.name, err, out)
	}
	return out
}

// podSandboxes maps the static pods running on n (without the "-NODE" suffix) to their running
// sandbox in containerd. Moving a manifest out and back makes the kubelet tear the pod down and
// create it again, with a new sandbox; a container that merely exits (kube-controller-manager
// losing its lease while the only API server restarts) is restarted inside the same sandbox.
// The API cannot tell the two apart: a static pod keeps its UID and start time.
func (n *node) podSandboxes() map[string]string {
	got := map[string]string{}
	tasks, err := n.exec("ctr -n k8s.io tasks ls")
	if err != nil {
		return got
	}
	for _, l := range strings.Split(tasks, "\n") {
		f := strings.Fields(l)
		if len(f) != 3 || f[2] != "RUNNING" {
			continue
		}
		info, err := n.exec("ctr -n k8s.io containers info " + f[0])
		var c struct{ Labels map[string]string }
		if err != nil || json.Unmarshal([]byte(info), &c) != nil || c.Labels["io.cri-containerd.kind"] != "sandbox" {
			continue
		}
		if pod, ok := strings.CutSuffix(c.Labels["io.kubernetes.pod.name"], "-"+n.name); ok && c.Labels["io.kubernetes.pod.namespace"] == "kube-system" {
			got[pod] = f[0]
		}
	}
	return got
}

// restartedPods lists, sorted, the pods that were made anew (their sandbox changed).
func restartedPods(before, after map[string]string) []string {
	var out []string
	for p, id := range before {
		if after[p] != id {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// buildIgnigen builds the command as users run it, for the client namespace.
func buildIgnigen(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ignigen")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-buildvcs=false", "-o", bin, "github.com/ignigen/ignigen/cmd/ignigen")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("boottest: go build ignigen: %v\n%s", err, out)
	}
	return bin
}
