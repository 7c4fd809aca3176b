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

// reprovisionInit runs on an assembled cluster: the init node's and a worker's disks are wiped
// (root, Ignition state, container stores) and their unchanged configs applied by Ignition
// again, as a reinstall does, while a client writes through the VIP. Both power on while their
// old Nodes are still Ready. The init node's first boot must join the running cluster, never
// initialise a second one: init-or-join says so, rejoin-prepare removes its stale etcd member,
// etcd keeps its cluster ID and as many voting members as there are control-plane nodes, and
// every acknowledged write is still there. The worker's kubeadm join is refused while its old
// Node is Ready; rejoin-prepare must clear what that attempt left, so that the unit's retry joins.
func (c *cluster) reprovisionInit(t *testing.T) {
	var n, worker, other *node
	for _, cn := range c.nodes {
		switch spec := model.Role(cn.role).Spec(); {
		case cn.name == c.initNode().Name:
			n = cn
		case spec.APIServer:
			other = cn
		case spec.Kubernetes && worker == nil:
			worker = cn
		}
	}
	if n == nil || other == nil || worker == nil {
		t.Fatal("boottest: re-provisioning needs the init node, another control-plane node and a worker")
	}
	before := c.etcdClusterID(t, other)
	w := c.startWriter(t)
	time.Sleep(3 * time.Second)

	wiped := []*node{n, worker}
	for _, wn := range wiped {
		c.wipe(t, wn)
	}
	// A reinstall takes minutes; this one takes seconds, so the old Nodes are still Ready when
	// the nodes boot: init-or-join must wait for NotReady itself, and the worker's kubeadm join
	// is refused until then (kubeadm join refuses a Ready name).
	for _, wn := range wiped {
		if out, err := c.kubectl("get node " + wn.name + ` -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'`); err != nil || strings.TrimSpace(out) != "True" {
			t.Logf("boottest: %s's old Node is %q before power-on (the stale-Node handling may go unexercised)", wn.name, out)
		}
	}
	on := time.Now()
	for _, wn := range wiped {
		setPort(t, wn, true)
		c.powerOnMono[wn.name] = monoNow()
		powerOn(t, wn)
	}
	readyAfter := map[string]float64{}
	if !waitFor(5*time.Minute, 2*time.Second, func() bool {
		ready := c.readyNodes()
		for _, wn := range wiped {
			if _, done := readyAfter[wn.name]; !done && ready[wn.name] && c.nodeRebootedReady(wn, on) {
				readyAfter[wn.name] = time.Since(on).Seconds()
			}
		}
		return len(readyAfter) == len(wiped)
	}) {
		c.dumpFailures(t)
		for _, wn := range wiped {
			j, _ := wn.exec("journalctl -b --no-pager -o short-monotonic -u kubeadm-init -u kubeadm-join")
			t.Logf("--- %s kubeadm-init/join.service:\n%s", wn.name, lastLines(j, 80))
		}
		t.Fatalf("boottest: re-provisioned %s and %s not both Ready within 5 min (Ready: %v)", n.name, worker.name, readyAfter)
	}
	for _, wn := range wiped {
		logf("re-provisioned %s Ready %.1fs after power-on", wn.name, readyAfter[wn.name])
	}
	acked, failed, gap := w.stop(t)

	c.journalHas(t, n, "kubeadm-init.service", "joining it as a control-plane node instead of kubeadm init",
		"rejoin-prepare: removing this node's stale etcd member", "still Ready; waiting until the control plane marks it NotReady",
		"This node has joined the cluster")
	journal := c.journalHas(t, worker, "kubeadm-join.service", "This node has joined the cluster")
	// Refused while the old Node was Ready (about 50 s after its kubelet stopped): then the retry
	// joined only because rejoin-prepare cleared the refused attempt's files. A slow boot can miss
	// the window; that is reported, not failed.
	if strings.Contains(journal, "already exists in the cluster") {
		c.journalHas(t, worker, "kubeadm-join.service", "removed '/etc/kubernetes/bootstrap-kubelet.conf'")
	} else {
		t.Logf("boottest: %s's first join was not refused (its old Node was NotReady already): the retry path went unexercised", worker.name)
	}
	initJournal, _ := n.exec("journalctl -u kubeadm-init.service --no-pager -o cat")
	if strings.Contains(initJournal, "Your Kubernetes control-plane has initialized successfully") {
		t.Errorf("boottest: the re-provisioned %s ran kubeadm init on the live cluster", n.name)
	}
	if after := c.etcdClusterID(t, n); after != before {
		t.Errorf("boottest: etcd cluster ID %s on the re-provisioned %s, was %s: a second cluster", after, n.name, before)
	}
	// Every write acknowledged since the cluster booted, not only this writer's.
	missing := c.missingWrites(t, c.acked)
	fmt.Fprintf(os.Stderr, "REPROVISION-RESULT node=%s ready-after=%.1fs worker=%s ready-after=%.1fs worker-join-attempts=%d acked=%d failed=%d lost=%d of %d longest-gap=%.1fs cluster-id=%s\n",
		n.name, readyAfter[n.name], worker.name, readyAfter[worker.name], joinAttempts(journal),
		len(acked), failed, len(missing), len(c.acked), gap.Seconds(), before)
	if len(missing) > 0 {
		t.Errorf("boottest: %d acknowledged writes lost: %v", len(missing), missing)
	}
	c.checkAssembled(t)
}

// wipe powers n off and gives it a new disk holding only what Ignition writes from its unchanged
// config, as a reinstall does.
func (c *cluster) wipe(t *testing.T, n *node) {
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
}

// journalHas checks that unit's journal on n (this boot) holds every line in want, and returns it.
func (c *cluster) journalHas(t *testing.T, n *node, unit string, want ...string) string {
	journal, _ := n.exec("journalctl -u " + unit + " --no-pager -o cat")
	for _, w := range want {
		if !strings.Contains(journal, w) {
			t.Errorf("boottest: %s's %s journal lacks %q:\n%s", n.name, unit, w, lastLines(journal, 40))
		}
	}
	return journal
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

// reprovisionJoining runs on an assembled cluster: a joining control-plane node's disk is wiped
// and its unchanged config applied by Ignition again while a client writes through the VIP. It
// powers on while its old Node is still Ready and its etcd member still listed. Before each
// kubeadm join attempt rejoin-prepare must remove the stale member (kubeadm join would adopt it)
// and clear what a refused attempt left; the node must join, etcd keep its cluster ID and end
// with one voting member per control-plane node, and no acknowledged write be lost.
func (c *cluster) reprovisionJoining(t *testing.T) {
	var n, other *node
	for _, cn := range c.nodes {
		switch {
		case !model.Role(cn.role).Spec().APIServer:
		case cn.name == c.initNode().Name:
			other = cn
		case n == nil:
			n = cn
		}
	}
	if n == nil || other == nil {
		t.Fatal("boottest: re-provisioning a joining node needs the init node and another control-plane node")
	}
	before := c.etcdClusterID(t, other)
	w := c.startWriter(t)
	time.Sleep(3 * time.Second)
	c.wipe(t, n)
	setPort(t, n, true)
	on := time.Now()
	c.powerOnMono[n.name] = monoNow()
	powerOn(t, n)
	if !waitFor(5*time.Minute, 2*time.Second, func() bool { return c.readyNodes()[n.name] && c.nodeRebootedReady(n, on) }) {
		c.dumpFailures(t)
		j, _ := n.exec("journalctl -b --no-pager -o short-monotonic -u kubeadm-join")
		t.Logf("--- %s kubeadm-join.service:\n%s", n.name, lastLines(j, 80))
		t.Fatalf("boottest: re-provisioned %s not Ready within 5 min", n.name)
	}
	ready := time.Since(on).Seconds()
	logf("re-provisioned %s Ready %.1fs after power-on", n.name, ready)
	acked, failed, gap := w.stop(t)

	journal := c.journalHas(t, n, "kubeadm-join.service", "rejoin-prepare: removing this node's stale etcd member", "This node has joined the cluster")
	if after := c.etcdClusterID(t, n); after != before {
		t.Errorf("boottest: etcd cluster ID %s on the re-provisioned %s, was %s: a second cluster", after, n.name, before)
	}
	missing := c.missingWrites(t, c.acked)
	fmt.Fprintf(os.Stderr, "REPROVISION-JOIN-RESULT node=%s ready-after=%.1fs join-attempts=%d acked=%d failed=%d lost=%d of %d longest-gap=%.1fs\n",
		n.name, ready, joinAttempts(journal), len(acked), failed, len(missing), len(c.acked), gap.Seconds())
	if len(missing) > 0 {
		t.Errorf("boottest: %d acknowledged writes lost: %v", len(missing), missing)
	}
	c.checkAssembled(t)
}

// joinAttempts counts kubeadm join runs in a unit's journal: each starts with this line alone (a
// control-plane join prints a second, longer preflight line).
func joinAttempts(journal string) int {
	n := 0
	for _, l := range strings.Split(journal, "\n") {
		if strings.TrimSpace(l) == "[preflight] Running pre-flight checks" {
			n++
		}
	}
	return n
}
