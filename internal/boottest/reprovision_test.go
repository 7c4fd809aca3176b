//go:build boottest

package boottest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ignigen/ignigen/internal/model"
)

// reprovisionInit runs on an assembled cluster: the init node's disk is wiped (root, Ignition
// state, container stores) and its unchanged config applied by Ignition again, as a reinstall
// does, while a client writes through the VIP. Its first boot must join the running cluster,
// never initialise a second one: init-or-join says so, etcd keeps its cluster ID and as many
// voting members as there are control-plane nodes, and every acknowledged write is still there.
func (c *cluster) reprovisionInit(t *testing.T) {
	var n *node
	for _, cn := range c.nodes {
		if cn.name == c.initNode().Name {
			n = cn
		}
	}
	var other *node
	for _, cn := range c.nodes {
		if cn != n && model.Role(cn.role).Spec().APIServer {
			other = cn
		}
	}
	if n == nil || other == nil {
		t.Fatal("boottest: re-provisioning needs the init node and another control-plane node")
	}
	before := c.etcdClusterID(t, other)
	w := c.startWriter(t)
	time.Sleep(3 * time.Second)

	powerOff(t, n)
	sh(t, "umount -l %s", n.root)
	for _, d := range []string{"upper", "work", "ignition", "containerd", "containers"} {
		if err := os.RemoveAll(filepath.Join(n.dir, d)); err != nil {
			t.Fatal(err)
		}
	}
	makeRoot(t, c.tools["ignition"], c.lower, n)
	linkCopy(t, c.ctrdStore, n.dir+"/containerd")
	linkCopy(t, c.podStore, n.dir+"/containers")
	logf("%s wiped and re-provisioned from its unchanged config", n.name)

	// A reinstall takes minutes; this one takes seconds, so the old Node is still Ready when the
	// node boots: init-or-join must wait for NotReady itself (kubeadm join refuses a Ready name).
	if out, err := c.kubectl("get node " + n.name + ` -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'`); err != nil || strings.TrimSpace(out) != "True" {
		t.Logf("boottest: %s's old Node is %q before power-on (the stale-Node wait may go unexercised)", n.name, out)
	}
	setPort(t, n, true)
	on := time.Now()
	c.powerOnMono[n.name] = monoNow()
	powerOn(t, n)
	if !waitFor(5*time.Minute, 2*time.Second, func() bool { return c.readyNodes()[n.name] && c.nodeRebootedReady(n, on) }) {
		c.dumpFailures(t)
		j, _ := n.exec("journalctl -b --no-pager -o short-monotonic -u kubeadm-init")
		t.Logf("--- %s kubeadm-init.service:\n%s", n.name, lastLines(j, 80))
		t.Fatalf("boottest: re-provisioned %s not Ready within 5 min", n.name)
	}
	logf("re-provisioned %s Ready %.1fs after power-on", n.name, time.Since(on).Seconds())
	acked, failed, gap := w.stop(t)

	journal, _ := n.exec("journalctl -u kubeadm-init.service --no-pager -o cat")
	for _, want := range []string{"joining it as a control-plane node instead of kubeadm init", "still Ready; waiting until the control plane marks it NotReady", "This node has joined the cluster"} {
		if !strings.Contains(journal, want) {
			t.Errorf("boottest: %s's kubeadm-init.service journal lacks %q:\n%s", n.name, want, lastLines(journal, 30))
		}
	}
	if strings.Contains(journal, "Your Kubernetes control-plane has initialized successfully") {
		t.Errorf("boottest: the re-provisioned %s ran kubeadm init on the live cluster", n.name)
	}
	if after := c.etcdClusterID(t, n); after != before {
		t.Errorf("boottest: etcd cluster ID %s on the re-provisioned %s, was %s: a second cluster", after, n.name, before)
	}
	// Every write acknowledged since the cluster booted, not only this writer's.
	missing := c.missingWrites(t, c.acked)
	fmt.Fprintf(os.Stderr, "REPROVISION-RESULT node=%s ready-after=%.1fs acked=%d failed=%d lost=%d of %d longest-gap=%.1fs cluster-id=%s\n",
		n.name, time.Since(on).Seconds(), len(acked), failed, len(missing), len(c.acked), gap.Seconds(), before)
	if len(missing) > 0 {
		t.Errorf("boottest: %d acknowledged writes lost: %v", len(missing), missing)
	}
	c.checkAssembled(t)
}

// etcdClusterID is the cluster ID etcd on node n reports, read from the client namespace with
// the etcd CA and health-check client certificate of n's disk.
func (c *cluster) etcdClusterID(t testing.TB, n *node) string {
	pki := n.root + "/etc/kubernetes/pki/etcd"
	var out string
	ok := waitFor(2*time.Minute, 2*time.Second, func() bool {
		var err error
		out, err = shErr("ip netns exec %s %s --endpoints https://%s:2379 --cacert %s/ca.crt --cert %s/healthcheck-client.crt --key %s/healthcheck-client.key endpoint status -w json",
			clientNS, c.tools["etcdctl"], n.ip, pki, pki, pki)
		return err == nil
	})
	var st []struct {
		Status struct {
			Header struct {
				ClusterID uint64 `json:"cluster_id"`
			}
		}
	}
	if !ok || json.Unmarshal([]byte(out), &st) != nil || len(st) == 0 {
		t.Fatalf("boottest: etcd endpoint status on %s: %s", n.name, out)
	}
	return fmt.Sprintf("%x", st[0].Status.Header.ClusterID)
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
