//go:build boottest

package boottest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// TestBootExternal boots testdata/external-lb, the unstacked topology: two load-balancer nodes
// hold the VIP and run HAProxy in front of three control-plane nodes, a management node (kubectl,
// its own client certificate) and two workers. Power-on in init-last order (everything else
// first, the init node 20 s later and last): one boot proves both. Then the VIP-holding
// load-balancer loses power and the API must answer through the other one, losing no write;
// then a joining control-plane node is wiped and re-provisioned (reprovisionJoining).
func TestBootExternal(t *testing.T) {
	src, err := os.ReadFile(ExternalTopologyPath)
	if err != nil {
		t.Fatal(err)
	}
	c := newClusterFrom(t, src, nil)
	if !c.model.ExternalLB {
		t.Fatalf("boottest: %s is not an external-lb topology", ExternalTopologyPath)
	}
	on := time.Now()
	powerOnAll(t, c, c.initLast(), 20*time.Second, readyTimeout)
	c.checkAssembled(t)
	c.checkExternal(t)
	logf("external cluster assembled and checked %.1fs after the first power-on", time.Since(on).Seconds())
	if t.Failed() {
		return
	}
	if !t.Run("lb-power-loss", c.lbPowerLoss) {
		return
	}
	t.Run("reprovision-join", c.reprovisionJoining)
}

// checkExternal: what the unstacked roles promise. Exactly one VIP holder, a load-balancer node;
// keepalived and HAProxy active on both load-balancer nodes and absent elsewhere; no kubelet,
// containerd or kubeadm and none of the cluster's private keys on load-balancer and management
// nodes; the management node's kubectl works through the VIP as its own identity.
func (c *cluster) checkExternal(t testing.TB) {
	vip := c.model.Endpoint.VIP.String()
	var holders []string
	for _, n := range c.nodes {
		if out, err := shErr("ip -n %s -4 -o addr show", nodeNS(n.name)); err == nil && strings.Contains(out, " "+vip+"/") {
			holders = append(holders, n.name+"("+n.role+")")
			if !n.balances {
				t.Errorf("boottest: %s (%s) holds the VIP %s", n.name, n.role, vip)
			}
		}
	}
	if len(holders) != 1 {
		t.Errorf("boottest: want exactly one VIP holder, got %v", holders)
	} else {
		logf("VIP %s held by %s only", vip, holders[0])
	}

	keys := clusterKeys(t, filepath.Join(c.out, "secrets.yaml"))
	for _, n := range c.nodes {
		if n.balances {
			out, err := n.exec("systemctl is-active keepalived.service haproxy.service")
			if out = words(out); err != nil || out != "active active" {
				t.Errorf("boottest: %s: keepalived, HAProxy: want active, active; got %q (%v)", n.name, out, err)
			} else {
				logf("%s: keepalived and HAProxy active", n.name)
			}
		} else if out, _ := n.exec("systemctl show -P LoadState keepalived.service haproxy.service"); words(out) != "not-found not-found" {
			// No Quadlet file, so no unit at all (not merely stopped).
			t.Errorf("boottest: %s (%s): keepalived, HAProxy units: want not-found, got %q", n.name, n.role, out)
		}
		if n.kube {
			continue
		}
		// kubeadm units are ignigen's: not-found means none was written. kubelet's and containerd's
		// unit files are in this test's OS layer on every node: they must never have started.
		if out, _ := n.exec("systemctl show -P LoadState kubeadm-init.service kubeadm-join.service"); words(out) != "not-found not-found" {
			t.Errorf("boottest: %s (%s): kubeadm units: want not-found, got %q", n.name, n.role, out)
		}
		if out, _ := n.exec("systemctl show -P ActiveEnterTimestampMonotonic kubelet.service containerd.service"); words(out) != "0 0" {
			t.Errorf("boottest: %s (%s): kubelet, containerd started (ActiveEnterTimestampMonotonic %q)", n.name, n.role, out)
		}
		if found := keysOnDisk(n.dir+"/upper", keys); len(found) > 0 {
			t.Errorf("boottest: %s (%s) has private keys of the cluster: %v", n.name, n.role, found)
		} else {
			logf("%s (%s): no kubeadm unit, kubelet and containerd never started, none of the %d cluster keys on its disk", n.name, n.role, len(keys))
		}
	}
	// Negative control of the key scan: the init node has the CA key on its disk.
	for _, n := range c.nodes {
		if n.name == c.initNode().Name {
			if found := keysOnDisk(n.dir+"/upper", keys); !containsPrefix(found, "cas.ca.key") {
				t.Errorf("boottest: the key scan does not find the CA key on the init node %s (found %v): it proves nothing", n.name, found)
			} else {
				logf("negative control: the key scan finds the CA key on the init node %s (%d key-in-file hits in all)", n.name, len(found))
			}
		}
	}

	for _, n := range c.nodes {
		if n.role == "management" {
			c.checkManagement(t, n)
		}
	}
}

// checkManagement runs kubectl on the management node as its user core, with the kubeconfig
// Ignition wrote there: the server is the VIP, the identity is the node's own (group
// ignigen:management), never the operator's admin, and it may list the nodes.
func (c *cluster) checkManagement(t testing.TB, n *node) {
	kc := "runuser -u core -- env HOME=/home/core kubectl --request-timeout=5s "
	server, err := n.exec(kc + "config view -o jsonpath={.clusters[0].cluster.server}")
	if want := "https://" + c.model.Endpoint.VIP.String() + ":6443"; err != nil || server != want {
		t.Errorf("boottest: %s: kubeconfig server %q, want %s (%v)", n.name, server, want, err)
	}
	out, err := n.exec(kc + "auth whoami -o json")
	var who struct {
		Status struct {
			UserInfo struct {
				Username string
				Groups   []string
			}
		}
	}
	json.Unmarshal([]byte(out), &who)
	u := who.Status.UserInfo
	groups := strings.Join(u.Groups, ",")
	if err != nil || u.Username != "ignigen:node:"+n.name || !strings.Contains(","+groups+",", ",ignigen:management,") || strings.Contains(groups, "kubeadm:cluster-admins") {
		t.Errorf("boottest: %s: kubectl auth whoami: want user ignigen:node:%s in ignigen:management, not kubeadm:cluster-admins (%v)\n%s", n.name, n.name, err, out)
	} else {
		logf("%s: kubectl auth whoami through the VIP: %s, groups %s", n.name, u.Username, groups)
	}
	nodes, err := n.exec(kc + "get nodes -o name")
	if err != nil || len(strings.Fields(nodes)) != len(c.kubeNodes()) {
		t.Errorf("boottest: %s: kubectl get nodes with its own kubeconfig: want %d nodes (%v)\n%s", n.name, len(c.kubeNodes()), err, nodes)
	} else {
		logf("%s: kubectl get nodes with its own kubeconfig: %d nodes", n.name, len(strings.Fields(nodes)))
	}
	// helm runs in docker.io/alpine/helm (podman); no helm binary is cached and no registry is
	// reachable, so only the wrapper's presence is checked, not a helm run.
	if _, err := n.exec("test -x /opt/bin/helm && command -v podman"); err != nil {
		t.Errorf("boottest: %s: /opt/bin/helm or podman missing: %v", n.name, err)
	}
}

// clusterKeys returns a recognisable piece of every private key in the secrets bundle, as PEM
// (a body line) and as base64 of the PEM (how kubeconfigs embed keys), by its YAML path.
func clusterKeys(t testing.TB, secrets string) map[string][][]byte {
	data, err := os.ReadFile(secrets)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("boottest: %s: %v", secrets, err)
	}
	keys := map[string][][]byte{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				walk(strings.TrimPrefix(path+"."+k, "."), e)
			}
		case string:
			if !strings.Contains(v, "PRIVATE KEY-----") {
				return
			}
			lines := strings.Split(v, "\n")
			b64 := base64.StdEncoding.EncodeToString([]byte(v))
			if len(lines) < 3 || len(b64) < 120 {
				t.Fatalf("boottest: %s: key %s too short", secrets, path)
			}
			// Characters 60–120 of the base64 encode bytes 45–90: inside the key body.
			keys[path] = [][]byte{[]byte(lines[1]), []byte(b64[60:120])}
		}
	}
	walk("", doc)
	if len(keys) == 0 {
		t.Fatalf("boottest: no private key in %s", secrets)
	}
	return keys
}

// keysOnDisk lists the keys any regular file under dir contains (what the node wrote: Ignition
// and everything since boot; the read-only OS layers have none).
func keysOnDisk(dir string, keys map[string][][]byte) []string {
	hit := map[string]bool{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if info, err := d.Info(); err != nil || info.Size() > 64<<20 {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for name, sigs := range keys {
			for _, s := range sigs {
				if bytes.Contains(data, s) {
					hit[fmt.Sprintf("%s in %s", name, strings.TrimPrefix(p, dir))] = true
				}
			}
		}
		return nil
	})
	var out []string
	for h := range hit {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// words joins the output's words with single spaces (systemctl separates units by blank lines).
func words(s string) string { return strings.Join(strings.Fields(s), " ") }

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// lbPowerLoss: with a client writing through the VIP, the load-balancer node holding it loses
// power; the other load-balancer node must take the VIP, the API answer through it, no
// acknowledged write be lost, and every Kubernetes node stay Ready.
func (c *cluster) lbPowerLoss(t *testing.T) {
	holder := c.vipHolder(t)
	if !holder.balances {
		t.Fatalf("boottest: VIP held by %s (%s), not a load-balancer node", holder.name, holder.role)
	}
	logf("VIP held by %s", holder.name)
	w := c.startWriter(t)
	time.Sleep(5 * time.Second)
	lost := time.Now()
	powerOff(t, holder)
	logf("powered off %s", holder.name)
	if !waitFor(60*time.Second, 200*time.Millisecond, func() bool { return w.ackedSince(lost) }) {
		w.stop(t)
		t.Fatalf("boottest: no write acknowledged through the VIP within 60 s of losing %s", holder.name)
	}
	answered := time.Since(lost)
	time.Sleep(10 * time.Second)
	acked, failed, gap := w.stop(t)
	newHolder := c.vipHolder(t)
	missing := c.missingWrites(t, acked)
	fmt.Fprintf(os.Stderr, "LB-POWERLOSS-RESULT victim=%s new-holder=%s first-ack-after=%.1fs acked=%d failed=%d lost=%d longest-gap=%.1fs\n",
		holder.name, newHolder.name, answered.Seconds(), len(acked), failed, len(missing), gap.Seconds())
	if newHolder == holder || !newHolder.balances {
		t.Errorf("boottest: after losing %s the VIP is on %s (%s), want the other load-balancer node", holder.name, newHolder.name, newHolder.role)
	}
	if len(missing) > 0 {
		t.Errorf("boottest: %d acknowledged writes lost: %v", len(missing), missing)
	}
	if ready := c.readyNodes(); len(ready) != len(c.kubeNodes()) {
		t.Errorf("boottest: after losing %s only %d of %d nodes Ready", holder.name, len(ready), len(c.kubeNodes()))
	}
}
