//go:build hatest

package hatest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ignigen/ignigen/internal/testkit"
)

// The scale test's extra addresses in the example's node network (192.168.122.0/24: .30 is the
// VIP, .31–.35 are nodes): one reserved in the first build, one never reserved.
const (
	reservedHost   = 36
	unreservedHost = 37
	joinSettle     = 6 * time.Second // holders sampled after the new keepalived is up
	scaleSampleGap = 50 * time.Millisecond
)

// TestScale grows the running three-node control plane at a reserved address (no running
// node's config changes), loses the VIP holder of the four-node cluster, removes a member, and
// shows as a negative control that a node at an address nobody reserved splits the VIP.
func TestScale(t *testing.T) {
	requireRoot(t)
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), testBudget)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := newCluster(t, ctx, fmt.Sprintf("%s%d-s", nsPrefix, os.Getpid()))

	// 1. Topology A: the test topology plus one reserved control-plane address.
	fetchNS, sysextURL, _ := c.startFetch(ctx) // kept: later nodes apply their configs too
	base := c.exampleTopology(sysextURL)
	net3 := func(host int) string { return fmt.Sprintf("192.168.122.%d", host) }
	reserved, unreserved := net3(reservedHost), net3(unreservedHost)
	topoA := c.variant(base, "A", []string{reserved}, nil)
	if code, out, errs := c.build(topoA); code != 0 {
		t.Fatalf("build A: exit %d\n%s%s", code, out, errs)
	}
	c.loadTopology(topoA)
	running := append([]*node(nil), c.nodes...)
	if len(running) != 3 {
		t.Fatalf("topology A has %d control-plane nodes, want 3", len(running))
	}
	ignA := map[string][]byte{}
	for _, n := range running {
		data, err := os.ReadFile(filepath.Join(c.out, n.name+".ign"))
		testkit.Must(t, err)
		ignA[n.name] = data
	}
	c.applyIgnition(ctx, fetchNS)
	// What the running nodes know from their first boot: the reserved address as a VRRP peer and
	// an HAProxy backend, the unreserved one not at all.
	for _, n := range running {
		ka, err := os.ReadFile(filepath.Join(n.root, "etc/keepalived/keepalived.conf"))
		testkit.Must(t, err)
		hp, err := os.ReadFile(filepath.Join(n.root, "etc/haproxy/haproxy.cfg"))
		testkit.Must(t, err)
		if !bytes.Contains(ka, []byte(reserved)) || !bytes.Contains(hp, []byte("server "+reserved+" ")) {
			t.Fatalf("%s: the reserved address %s is not a VRRP peer and HAProxy backend from the first boot", n.name, reserved)
		}
		if bytes.Contains(ka, []byte(unreserved)) || bytes.Contains(hp, []byte(unreserved)) {
			t.Fatalf("%s: the unreserved address %s is in its first-boot config: the negative control would prove nothing", n.name, unreserved)
		}
	}
	api := c.bringUp(ctx, began)
	initCfg := c.initConfig()
	via := running[0]
	for _, n := range running {
		if n.init {
			via = n
		}
	}

	// 2. Topology B: the reserved address becomes a fourth control-plane node. Same secrets,
	// same output directory; the running nodes' configs must not change by one byte.
	topoB := c.variant(base, "B", nil, []yamlNode{{"node6-cp", reserved, "52:54:00:00:00:36"}})
	if code, out, errs := c.build(topoB); code != 0 {
		t.Fatalf("build B (filling the reserved address) must succeed: exit %d\n%s%s", code, out, errs)
	}
	for _, n := range running {
		data, err := os.ReadFile(filepath.Join(c.out, n.name+".ign"))
		testkit.Must(t, err)
		if !bytes.Equal(data, ignA[n.name]) {
			t.Fatalf("build B changed %s.ign of running node %s: a reserved address must be absorbed", n.name, n.name)
		}
	}
	t.Logf("build B: %d running nodes' .ign byte-identical to build A", len(running))
	c.loadTopology(topoB)
	n4 := c.node("node6-cp")
	if n4 == nil {
		t.Fatal("topology B has no node6-cp")
	}

	// 3. The fourth node joins under write load; holders sampled every 50 ms throughout.
	l := startLoad(ctx, api, "join")
	s := c.sampleHolders()
	tl := c.join(ctx, fetchNS, n4, initCfg, via)
	time.Sleep(joinSettle)
	s.stop()
	l.stop()
	join := c.judge(ctx, api, l, s, "join")
	t.Logf("SCALE-JOIN node=%s %s", n4.name, tl)
	join.report(t)
	if out, err := via.etcdctl(ctx, "member", "list", "-w", "table"); err == nil {
		t.Logf("etcd members after the join:\n%s", out)
	}

	// 4. Lose the VIP holder of the four-node cluster.
	r := c.failover(ctx, api, "sigkill")
	fmt.Println("SCALE-FAILOVER " + r.line())
	if !r.Recovered {
		t.Errorf("four nodes, sigkill: the VIP did not answer within %s of losing %s", recoveryLimit, r.Victim)
	}
	if r.Lost != 0 {
		t.Errorf("four nodes, sigkill: %d acknowledged writes lost: %v", r.Lost, r.LostNames)
	}
	if r.SplitBrain {
		t.Errorf("four nodes, sigkill: not exactly one VIP holder after settling (%s)", r.HoldersAfter)
	}
	if ctx.Err() != nil {
		t.Fatalf("test budget exhausted: %v", ctx.Err())
	}

	// 5. Scale down: remove a member that does not hold the VIP, the documented way (its etcd
	// member removed, then the node stopped), under write load.
	hs := c.holders()
	if len(hs) != 1 {
		t.Fatalf("before the removal: holders %s", names(hs))
	}
	var gone *node
	for _, cand := range []*node{n4, running[2], running[1]} {
		if cand != hs[0] && cand != via {
			gone = cand
			break
		}
	}
	l = startLoad(ctx, api, "remove")
	s = c.sampleHolders()
	time.Sleep(2 * time.Second)
	t0 := time.Now()
	etcdVia := via
	if etcdVia == gone {
		etcdVia = hs[0]
	}
	id := c.memberID(ctx, etcdVia, gone)
	if out, err := etcdVia.etcdctl(ctx, "member", "remove", id); err != nil {
		t.Fatalf("etcdctl member remove %s (%s): %v\n%s", id, gone.name, err, out)
	}
	removed := time.Since(t0)
	k := gone.killAll()
	stopped := time.Since(t0)
	// Every remaining HAProxy's last word on the removed server must be DOWN (it was DOWN
	// before the join too, while the address was only reserved, then UP).
	var downOn []string
	_ = waitFor(ctx, 10*time.Second, "HAProxy marking "+gone.ip.String()+" down", func() error {
		downOn = downOn[:0]
		for _, n := range c.nodes {
			if n == gone || !c.live(n) {
				continue
			}
			if s := lastServerState(filepath.Join(n.dir, "haproxy.log"), gone.ip.String()); s != "DOWN" {
				return fmt.Errorf("%s: last state %q", n.name, s)
			}
			downOn = append(downOn, n.name)
		}
		return nil
	})
	markedDown := time.Since(t0)
	time.Sleep(5 * time.Second)
	s.stop()
	l.stop()
	rm := c.judge(ctx, api, l, s, "remove")
	failed, _ := failedBetween(l.writes, t0, time.Now())
	t.Logf("SCALE-REMOVE node=%s member-removed=+%.2fs stopped=+%.2fs (%d processes) haproxy-marked-down=+%.2fs on %s failed-writes-after-removal=%d",
		gone.name, removed.Seconds(), stopped.Seconds(), k, markedDown.Seconds(), strings.Join(downOn, ","), failed)
	rm.report(t)
	if len(downOn) != 3 {
		t.Errorf("remove: HAProxy marked %s down on %d of the 3 remaining nodes (%s)", gone.ip, len(downOn), strings.Join(downOn, ","))
	}
	if out, err := etcdVia.etcdctl(ctx, "member", "list", "-w", "table"); err == nil {
		t.Logf("etcd members after the removal:\n%s", out)
	}

	// 6. Negative control: a fourth node at an address nobody reserved. The build refuses it,
	// unless told; booted anyway, the running nodes do not know it as a VRRP peer (their
	// configs are those of their first boot) and the VIP splits.
	topoC := c.variant(base, "C", []string{reserved}, []yamlNode{{"node7-cp", unreserved, "52:54:00:00:00:37"}})
	if code, _, _ := c.build(topoC); code == 0 {
		t.Errorf("build C (a control-plane address outside reservedIPs) succeeded without --allow-membership-change")
	}
	if code, out, errs := c.build(topoC, "--allow-membership-change"); code != 0 {
		t.Fatalf("build C --allow-membership-change: exit %d\n%s%s", code, out, errs)
	}
	c.loadTopology(topoC)
	n5 := c.node("node7-cp")
	if n5 == nil {
		t.Fatal("topology C has no node7-cp")
	}
	l = startLoad(ctx, api, "negative")
	s = c.sampleHolders()
	tlC := c.join(ctx, fetchNS, n5, initCfg, etcdVia)
	time.Sleep(joinSettle)
	s.stop()
	l.stop()
	neg := c.judge(ctx, api, l, s, "negative")
	var rejects []string
	for _, n := range c.nodes {
		if n == n5 || n == gone {
			continue
		}
		data, _ := os.ReadFile(filepath.Join(n.dir, "keepalived.log"))
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, n5.ip.String()) {
				rejects = append(rejects, n.name+": "+strings.TrimSpace(line))
			}
		}
	}
	t.Logf("SCALE-NEGATIVE node=%s timeline: %s", n5.name, tlC)
	t.Logf("SCALE-NEGATIVE multi-holder-samples=%d of %d, running nodes' keepalived lines about %s: %d%s",
		len(neg.multi), neg.samples, n5.ip, len(rejects), firstLines(rejects, 5))
	for _, m := range neg.multi[:min(len(neg.multi), 5)] {
		t.Logf("SCALE-NEGATIVE   %s", m)
	}
	if len(neg.multi) == 0 && len(rejects) == 0 {
		t.Errorf("negative control: a node at an unreserved address showed no split (no sample with two holders, no rejected advert): the detector of step 3 cannot fail")
	}
	if neg.lost != 0 {
		t.Logf("negative control: %d acknowledged writes lost (not asserted: the VIP is split)", neg.lost)
	}
	fmt.Printf("SCALE-RESULT join-multi-holder-samples=%d join-lost=%d join-vip-moves=%d failover-lost=%d failover-vip-answers-after=%.2fs failover-first-write-after=%.2fs remove-multi-holder-samples=%d remove-lost=%d negative-multi-holder-samples=%d negative-rejected-advert-lines=%d run=%.0fs\n",
		len(join.multi), join.lost, len(join.moves), r.Lost, r.AnswerSec, r.WriteSec, len(rm.multi), rm.lost, len(neg.multi), len(rejects), time.Since(began).Seconds())
	if t.Failed() {
		c.dumpLogs()
	}
}

// lastServerState is UP or DOWN, as HAProxy last logged server ip of backend kube-apiserver.
func lastServerState(log, ip string) string {
	data, _ := os.ReadFile(log)
	state := ""
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.Index(line, "kube-apiserver/"+ip+" is "); i >= 0 {
			rest := line[i+len("kube-apiserver/"+ip+" is "):]
			switch {
			case strings.HasPrefix(rest, "UP"):
				state = "UP"
			case strings.HasPrefix(rest, "DOWN"):
				state = "DOWN"
			}
		}
	}
	return state
}

func firstLines(ls []string, n int) string {
	if len(ls) == 0 {
		return ""
	}
	return "\n    " + strings.Join(ls[:min(len(ls), n)], "\n    ")
}

type yamlNode struct{ name, ip, mac string }

// variant writes the base topology with controlPlane.reservedIPs set to reserved and the
// control-plane nodes extra appended to nodes[], as dir/topology.yaml.
func (c *cluster) variant(base, dir string, reserved []string, extra []yamlNode) string {
	t := c.t
	data, err := os.ReadFile(base)
	testkit.Must(t, err)
	var doc yaml.Node
	testkit.Must(t, yaml.Unmarshal(data, &doc))
	top := doc.Content[0]
	cp := testkit.MapValue(top, "controlPlane")
	seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, r := range reserved {
		seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: r})
	}
	if v := testkit.MapValue(cp, "reservedIPs"); v != nil {
		*v = *seq
	} else {
		cp.Content = append(cp.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "reservedIPs"}, seq)
	}
	nodes := testkit.MapValue(top, "nodes")
	for _, e := range extra {
		m := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		for _, kv := range [][2]string{{"name", e.name}, {"role", "control-plane"}, {"ip", e.ip}, {"mac", e.mac}} {
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: kv[0]}, &yaml.Node{Kind: yaml.ScalarNode, Value: kv[1], Style: yaml.DoubleQuotedStyle})
		}
		nodes.Content = append(nodes.Content, m)
	}
	out, err := yaml.Marshal(&doc)
	testkit.Must(t, err)
	p := filepath.Join(c.dir, "topology-"+dir, "topology.yaml")
	testkit.Must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	testkit.Must(t, os.WriteFile(p, out, 0o644))
	return p
}

// timeline is when each step of a join finished, from its start.
type timeline struct {
	steps []string
	t0    time.Time
}

func (tl *timeline) mark(what string) {
	tl.steps = append(tl.steps, fmt.Sprintf("%s=+%.2fs", what, time.Since(tl.t0).Seconds()))
}

func (tl *timeline) String() string { return strings.Join(tl.steps, " ") }

// join brings node n up from its config as kubeadm join --control-plane would: Ignition, its
// namespaces, kubeadm's certificates and manifests, `etcdctl member add` through via, etcd with
// the --initial-cluster that member add returns and initial-cluster-state=existing, then
// kube-apiserver, HAProxy and keepalived.
func (c *cluster) join(ctx context.Context, fetchNS string, n *node, initCfg []byte, via *node) *timeline {
	t := c.t
	tl := &timeline{t0: time.Now()}
	c.applyNode(ctx, fetchNS, n)
	tl.mark("ignition-applied")
	c.addNode(ctx, n)
	c.startHolder(ctx, n)
	c.prepareNode(ctx, n, initCfg)
	tl.mark("kubeadm-phases")
	name, _ := Flag(n.etcd, "name")
	var initial string
	if err := waitFor(ctx, 60*time.Second, "etcdctl member add "+name, func() error {
		out, err := via.etcdctl(ctx, "member", "add", name, "--peer-urls="+n.etcdPeer)
		if err != nil {
			return fmt.Errorf("%v: %s", err, testkit.LastLines(out, 1))
		}
		for _, line := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "ETCD_INITIAL_CLUSTER="); ok {
				initial = strings.Trim(v, `"`)
			}
		}
		return nil
	}); err != nil {
		c.dumpLogs()
		t.Fatal(err)
	}
	if !strings.Contains(initial, name+"=") {
		t.Fatalf("etcdctl member add gave no ETCD_INITIAL_CLUSTER with %s: %q", name, initial)
	}
	tl.mark("member-added")
	n.etcd = SetFlag(n.etcd, "initial-cluster", initial)
	n.etcd = SetFlag(n.etcd, "initial-cluster-state", "existing")
	n.start("etcd", n.etcd...)
	if err := waitFor(ctx, 90*time.Second, "etcd on "+n.name, func() error {
		out, err := n.etcdctl(ctx, "endpoint", "health")
		if err != nil {
			return fmt.Errorf("%v: %s", err, strings.TrimSpace(out))
		}
		return nil
	}); err != nil {
		c.dumpLogs()
		t.Fatal(err)
	}
	tl.mark("etcd-healthy")
	n.startAPIServer()
	if err := c.apiReady(ctx, n, 3*time.Minute); err != nil {
		c.dumpLogs()
		t.Fatal(err)
	}
	tl.mark("api-ready")
	n.startLB()
	tl.mark("lb-started")
	if waitFor(ctx, 15*time.Second, "keepalived state on "+n.name, func() error {
		data, _ := os.ReadFile(filepath.Join(n.dir, "keepalived.log"))
		if bytes.Contains(data, []byte("Entering BACKUP STATE")) || bytes.Contains(data, []byte("Entering MASTER STATE")) {
			return nil
		}
		return fmt.Errorf("no state yet")
	}) == nil {
		data, _ := os.ReadFile(filepath.Join(n.dir, "keepalived.log"))
		state := "BACKUP"
		if bytes.Contains(data, []byte("Entering MASTER STATE")) {
			state = "MASTER"
		}
		tl.mark("keepalived-" + state)
	}
	return tl
}

// memberID is the etcd member ID of node n, from `etcdctl member list` through via.
func (c *cluster) memberID(ctx context.Context, via, n *node) string {
	name, _ := Flag(n.etcd, "name")
	out, err := via.etcdctl(ctx, "member", "list")
	if err != nil {
		c.t.Fatalf("etcdctl member list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, ", ")
		if len(f) >= 3 && f[2] == name {
			return f[0]
		}
	}
	c.t.Fatalf("no etcd member %s in:\n%s", name, out)
	return ""
}

// live reports whether node n still has processes (a removed node has none but its holder).
func (c *cluster) live(n *node) bool {
	if n.holder == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		if p.node == n {
			select {
			case <-p.done:
			default:
				return true
			}
		}
	}
	return false
}

// sampler records the VIP holders every scaleSampleGap.
type sampler struct {
	mu      sync.Mutex
	samples []holderSample
	quit    chan struct{}
	done    chan struct{}
}

type holderSample struct {
	at      time.Time
	holders string
	count   int
}

func (c *cluster) sampleHolders() *sampler {
	s := &sampler{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(scaleSampleGap)
		defer tick.Stop()
		for {
			hs := c.holders()
			s.mu.Lock()
			s.samples = append(s.samples, holderSample{time.Now(), names(hs), len(hs)})
			s.mu.Unlock()
			select {
			case <-s.quit:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *sampler) stop() {
	close(s.quit)
	<-s.done
}

// phase is the verdict on one sampled phase under load.
type phase struct {
	name    string
	samples int
	multi   []string // samples with more than one holder
	none    int      // samples with no holder
	moves   []string // changes of holder
	acked   int
	lost    int
	failed  int
	errs    map[string]int // failed writes by error
}

// judge reads back the load's acknowledged writes and sums up the holder samples.
func (c *cluster) judge(ctx context.Context, api *apiClient, l *load, s *sampler, run string) phase {
	p := phase{name: run, samples: len(s.samples), acked: len(l.acked)}
	t0 := time.Time{}
	if len(s.samples) > 0 {
		t0 = s.samples[0].at
	}
	prev := ""
	for _, x := range s.samples {
		switch {
		case x.count > 1:
			p.multi = append(p.multi, fmt.Sprintf("+%.2fs %s", x.at.Sub(t0).Seconds(), x.holders))
		case x.count == 0:
			p.none++
		}
		if prev != "" && x.holders != prev {
			p.moves = append(p.moves, fmt.Sprintf("+%.2fs %s->%s", x.at.Sub(t0).Seconds(), prev, x.holders))
		}
		prev = x.holders
	}
	p.errs = map[string]int{}
	for _, w := range l.writes {
		if !w.ok {
			p.failed++
			p.errs[shortErr(w.err)]++
		}
	}
	var got map[string]bool
	if err := waitFor(ctx, 30*time.Second, "reading the writes back", func() error {
		var err error
		got, err = api.list(ctx, run)
		return err
	}); err != nil {
		c.t.Errorf("%s: %v", run, err)
		p.lost = -1
		return p
	}
	for _, name := range l.acked {
		if !got[name] {
			p.lost++
		}
	}
	return p
}

// report logs the phase and fails the test on two holders at once or a lost write.
func (p phase) report(t *testing.T) {
	line := fmt.Sprintf("SCALE-%s samples=%d multi-holder-samples=%d no-holder-samples=%d vip-moves=%d writes-acked=%d failed=%d lost=%d",
		strings.ToUpper(p.name), p.samples, len(p.multi), p.none, len(p.moves), p.acked, p.failed, p.lost)
	fmt.Println(line)
	t.Log(line + topErrs(p.errs))
	for _, m := range p.moves {
		t.Logf("SCALE-%s   vip move %s", strings.ToUpper(p.name), m)
	}
	for _, m := range p.multi {
		t.Errorf("%s: two VIP holders at once: %s", p.name, m)
	}
	if p.lost != 0 {
		t.Errorf("%s: %d acknowledged writes lost", p.name, p.lost)
	}
}
