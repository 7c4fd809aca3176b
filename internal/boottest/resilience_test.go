//go:build boottest

package boottest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// powerLoss runs on an assembled cluster (TestBoot's: one boot fewer for the suite): with a
// client writing through the VIP, the VIP holder loses power; the API must answer again from
// another node and no acknowledged write may be lost. Then the lost node and the init node are
// power-cycled (disks kept): no unit re-runs init or join, each comes back Ready, and the VIP
// answers meanwhile.
func (c *cluster) powerLoss(t *testing.T) {
	holder := c.vipHolder(t)
	logf("VIP held by %s", holder.name)
	w := c.startWriter(t)
	time.Sleep(5 * time.Second)
	lost := time.Now()
	powerOff(t, holder)
	logf("powered off %s", holder.name)
	if !waitFor(60*time.Second, 200*time.Millisecond, func() bool { return w.ackedSince(lost) }) {
		t.Fatalf("boottest: no write acknowledged through the VIP within 60 s of losing %s", holder.name)
	}
	time.Sleep(10 * time.Second)
	acked, failed, gap := w.stop(t)
	newHolder := c.vipHolder(t)
	missing := c.missingWrites(t, acked)
	fmt.Fprintf(os.Stderr, "POWERLOSS-RESULT victim=%s new-holder=%s acked=%d failed=%d lost=%d longest-gap=%.1fs\n",
		holder.name, newHolder.name, len(acked), failed, len(missing), gap.Seconds())
	if len(missing) > 0 {
		t.Errorf("boottest: %d acknowledged writes lost: %v", len(missing), missing)
	}

	// Power the lost node back on, then power-cycle the init node.
	reboot := []*node{holder}
	for _, n := range c.nodes {
		if n.name == c.initNode().Name && n != holder {
			reboot = append(reboot, n)
		}
	}
	for _, n := range reboot {
		if n != holder {
			powerOff(t, n)
			logf("powered off %s", n.name)
		}
		setPort(t, n, true)
		n.rebooted = true
		c.powerOnMono[n.name] = monoNow()
		on := time.Now()
		powerOn(t, n)
		logf("powered %s on again", n.name)
		vipDown := time.Duration(0)
		ok := waitFor(4*time.Minute, time.Second, func() bool {
			if _, err := c.kubectl("get --raw /healthz"); err != nil {
				vipDown += time.Second
			}
			return c.readyNodes()[n.name] && c.nodeRebootedReady(n, on)
		})
		if !ok {
			c.dumpFailures(t)
			t.Fatalf("boottest: %s not Ready again within 4 min of power-on", n.name)
		}
		logf("%s Ready again %.1fs after power-on; VIP failed to answer in about %v of that time", n.name, time.Since(on).Seconds(), vipDown)
		for _, u := range []string{"kubeadm-init.service", "kubeadm-join.service"} {
			res, err := n.exec("systemctl show -P ExecMainStartTimestampMonotonic " + u)
			if err != nil || strings.TrimSpace(res) != "0" {
				t.Errorf("boottest: %s: %s ran again after the reboot (ExecMainStartTimestampMonotonic=%q, %v)", n.name, u, res, err)
			}
		}
	}
	c.checkAssembled(t)
}

// nodeRebootedReady: the node's kubelet is back: its node lease was renewed after the power-on
// (the Ready condition's own heartbeat moves only every few minutes while nothing changes).
func (c *cluster) nodeRebootedReady(n *node, on time.Time) bool {
	out, err := c.kubectl("get lease -n kube-node-lease " + n.name + " -o jsonpath={.spec.renewTime}")
	if err != nil {
		return false
	}
	ts, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(out))
	return err == nil && ts.After(on)
}

// vipHolder is the node whose interface carries the VIP.
func (c *cluster) vipHolder(t testing.TB) *node {
	vip := c.model.Endpoint.VIP.String()
	var holder *node
	waitFor(30*time.Second, 500*time.Millisecond, func() bool {
		for _, n := range c.nodes {
			if out, err := shErr("ip -n %s -4 -o addr show", nodeNS(n.name)); err == nil && strings.Contains(out, " "+vip+"/") {
				select {
				case <-n.done:
					continue
				default:
				}
				holder = n
				return true
			}
		}
		return false
	})
	if holder == nil {
		t.Fatal("boottest: no node holds the VIP")
	}
	return holder
}

// writer creates ConfigMaps wK-N through the VIP with kubectl in the client namespace, one at a
// time, logging "ok N UNIXNANO" for each acknowledged one. K numbers the cluster's writers, so a
// second writer neither inherits the first one's stop file and log nor collides with its names.
type writer struct {
	c      *cluster
	dir    string
	prefix string
}

func (c *cluster) startWriter(t testing.TB) *writer {
	c.writers++
	w := &writer{c: c, prefix: fmt.Sprintf("w%d-", c.writers), dir: filepath.Join(stateDir, fmt.Sprintf("writer-%d", c.writers))}
	if err := os.RemoveAll(w.dir); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(w.dir, 0o755)
	sh(t, `cd %[1]s
(i=0; while [ ! -e stop ]; do i=$((i+1))
  if ip netns exec %[2]s %[3]s --kubeconfig %[4]s --request-timeout=3s create configmap %[5]s$i -n default --from-literal=i=$i >/dev/null 2>&1
  then echo "ok $i $(date +%%s%%N)" >>acks; else echo "fail $i $(date +%%s%%N)" >>acks; sleep 0.1; fi
done) >/dev/null 2>&1 &
echo $! > pid`, w.dir, clientNS, c.tools["kubectl"], c.kubeconfig, w.prefix)
	return w
}

func (w *writer) lines() [][]string {
	f, err := os.Open(filepath.Join(w.dir, "acks"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out [][]string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if p := strings.Fields(s.Text()); len(p) == 3 {
			out = append(out, p)
		}
	}
	return out
}

func (w *writer) ackedSince(at time.Time) bool {
	for _, l := range w.lines() {
		ns, _ := strconv.ParseInt(l[2], 10, 64)
		if l[0] == "ok" && time.Unix(0, ns).After(at) {
			return true
		}
	}
	return false
}

// stop ends the writer and returns the acknowledged names (also kept in the cluster's list of
// every acknowledged write), the failed count and the longest time between two acknowledgements.
// A writer that acknowledged nothing proves nothing: that fails the test.
func (w *writer) stop(t testing.TB) (acked []string, failed int, gap time.Duration) {
	os.WriteFile(filepath.Join(w.dir, "stop"), nil, 0o644)
	waitFor(15*time.Second, 200*time.Millisecond, func() bool {
		_, err := shErr("kill -0 $(cat %s/pid)", w.dir)
		return err != nil
	})
	var last time.Time
	for _, l := range w.lines() {
		ns, _ := strconv.ParseInt(l[2], 10, 64)
		at := time.Unix(0, ns)
		if l[0] != "ok" {
			failed++
			continue
		}
		acked = append(acked, w.prefix+l[1])
		if !last.IsZero() && at.Sub(last) > gap {
			gap = at.Sub(last)
		}
		last = at
	}
	if len(acked) == 0 {
		t.Errorf("boottest: writer %s acknowledged no write (%d failed): nothing is proven", w.dir, failed)
	}
	w.c.acked = append(w.c.acked, acked...)
	return acked, failed, gap
}

func (c *cluster) missingWrites(t testing.TB, acked []string) []string {
	var out string
	ok := waitFor(60*time.Second, 2*time.Second, func() bool {
		var err error
		out, err = c.kubectl("get configmaps -n default -o name")
		return err == nil
	})
	if !ok {
		t.Fatalf("boottest: cannot list configmaps through the VIP: %s", out)
	}
	have := map[string]bool{}
	for _, l := range strings.Fields(out) {
		have[strings.TrimPrefix(l, "configmap/")] = true
	}
	var missing []string
	for _, a := range acked {
		if !have[a] {
			missing = append(missing, a)
		}
	}
	return missing
}
