//go:build hatest

package hatest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ignigen/ignigen/internal/layers"
	"github.com/ignigen/ignigen/internal/testkit"
)

// externalTopology is the unstacked topology: two load-balancer nodes hold the VIP and run
// HAProxy in front of three control-plane nodes.
const externalTopology = "testdata/external-lb/topology.yaml"

const (
	cpAfterLoss  = 10 * time.Second // load kept up after a control-plane node is lost
	splitSamples = 6 * time.Second  // holders sampled under the broken keepalived config
	deletedAcked = 3                // acknowledged writes the bookkeeping control deletes
)

// TestHAExternal runs the external-lb topology as TestHA runs the example: its two
// load-balancer nodes run only the generated keepalived and HAProxy, its three control-plane
// nodes only etcd and kube-apiserver on their bindPort. Under the write load it loses the VIP
// holder (SIGKILL, link cut), then the control-plane node leading etcd (SIGKILL; with
// HATEST_ALL_LOSSES=1 also HAProxy alone and a control-plane node's link cut); every
// acknowledged write must survive and exactly one load-balancer node must hold
// the VIP after settling. Two negative controls must fail: acknowledged writes deleted behind
// the load's back must be counted as lost, and a load-balancer node started with a broken
// keepalived config (another VRRP router ID) must show two VIP holders.
func TestHAExternal(t *testing.T) {
	requireRoot(t)
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), testBudget)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := newCluster(t, ctx, fmt.Sprintf("%s%d-x", nsPrefix, os.Getpid()))

	// 1. Build the external-lb topology and apply the load-balancer and control-plane configs.
	fetchNS, sysextURL, closeFetch := c.startFetch(ctx)
	c.topo = testkit.WithSysextBaseURL(t, filepath.Join(testkit.RepoRoot(t), externalTopology), sysextURL)
	if code, stdout, stderr := c.build(c.topo); code != 0 {
		t.Fatalf("ignigen build: exit %d\n%s%s", code, stdout, stderr)
	}
	c.loadTopology(c.topo)
	c.requireUnstacked()
	c.applyIgnition(ctx, fetchNS)
	closeFetch()
	t.Logf("built and applied %d control-plane and %d load-balancer nodes in %s", len(c.nodes), len(c.lbs), time.Since(began).Round(time.Second))

	api := c.bringUp(ctx, began)

	// 2. Lose the VIP holder (a load-balancer node) as a machine is lost: its processes killed,
	// its link cut. HAProxy alone failing (TestHA's, the same check script) and a control-plane
	// node's cut link run too with HATEST_ALL_LOSSES=1; CI keeps to the rest for time.
	vipModes, cpModes := []string{"sigkill", "linkcut"}, []string{"cp-sigkill"}
	if os.Getenv("HATEST_ALL_LOSSES") == "1" {
		vipModes, cpModes = append(vipModes, "haproxy"), append(cpModes, "cp-linkcut")
	}
	var events []extEvent
	for _, mode := range vipModes {
		r := c.failover(ctx, api, mode)
		writeJSON(filepath.Join(c.dir, "result-"+mode+".json"), r)
		events = append(events, fromFailover(r))
		if ctx.Err() != nil {
			t.Fatalf("test budget exhausted: %v", ctx.Err())
		}
	}

	// 3. Lose the control-plane node that leads etcd: its kube-apiserver and the etcd leader at once.
	var cpKill extEvent
	for _, mode := range cpModes {
		e := c.loseAPIServer(ctx, api, mode, c.etcdLeader(ctx))
		writeJSON(filepath.Join(c.dir, "result-"+mode+".json"), e)
		events = append(events, e)
		if mode == "cp-sigkill" {
			cpKill = e
		}
		if ctx.Err() != nil {
			t.Fatalf("test budget exhausted: %v", ctx.Err())
		}
	}

	t.Logf("total run time %s", time.Since(began).Round(time.Second))
	for _, e := range events {
		fmt.Println(e.line())
		t.Log(e.line())
	}
	for _, e := range events {
		if !e.Recovered {
			t.Errorf("%s: the VIP did not answer within %s of losing %s", e.Event, recoveryLimit, e.Victim)
		}
		if e.Lost != 0 {
			t.Errorf("%s: %d acknowledged writes lost: %v", e.Event, e.Lost, e.LostNames)
		}
		if e.SplitBrain {
			t.Errorf("%s: the VIP is not held by exactly one node after settling (%s)", e.Event, e.HoldersAfter)
		}
	}

	// 4. Negative controls.
	t.Run("lost-writes-control", func(t *testing.T) { c.proveLostWritesSeen(t, ctx, api, cpKill) })
	t.Run("split-control", func(t *testing.T) { c.proveSplitSeen(t, ctx) })
	if t.Failed() {
		c.dumpLogs()
	}
}

// requireUnstacked fails unless the topology is what this test claims to run: load-balancer
// nodes balancing, control-plane nodes that do not, and API servers on HAProxy's port.
func (c *cluster) requireUnstacked() {
	t := c.t
	if len(c.lbs) != 2 || len(c.nodes) != 3 {
		t.Fatalf("%s: %d load-balancer and %d control-plane nodes, the test needs 2 and 3", externalTopology, len(c.lbs), len(c.nodes))
	}
	for _, n := range c.nodes {
		if n.balancer {
			t.Fatalf("control-plane node %s balances: the topology is not unstacked", n.name)
		}
	}
	if c.bindPort != c.port {
		t.Fatalf("bindPort %d != port %d: unstacked API servers keep HAProxy's port", c.bindPort, c.port)
	}
}

// extEvent is one loss in TestHAExternal, whichever node it hit.
type extEvent struct {
	Event        string
	Victim       string
	Holder       string // VIP holder when the load stopped
	Attempted    int
	Acked        int
	Lost         int
	LostNames    []string `json:",omitempty"`
	Recovered    bool
	AnswerSec    float64    // loss → first answer through the VIP (a probe started after it)
	WriteSec     float64    // loss → first acknowledged write started after it
	Since        clientView // from the loss to the end of the load: gaps, failures
	FailedErrors string
	// HolderChanges counts samples under load whose holders were not the holder before the loss:
	// only before the loss when the VIP holder is lost (false failovers), at all when a
	// control-plane node is.
	HolderChanges int
	MarkedDown    string
	HoldersAfter  string
	SplitBrain    bool
	Seconds       float64
	acked         []string // the load's acknowledged names (the bookkeeping control deletes some)
}

func fromFailover(r result) extEvent {
	return extEvent{
		Event: "vip-holder-" + r.Mode, Victim: r.Victim, Holder: r.NewHolder,
		Attempted: r.Attempted, Acked: r.Acked, Lost: r.Lost, LostNames: r.LostNames, Recovered: r.Recovered,
		AnswerSec: r.AnswerSec, WriteSec: r.WriteSec, Since: r.Since, FailedErrors: r.FailedErrors,
		HolderChanges: r.FalseFailovers, HoldersAfter: r.HoldersAfter, SplitBrain: r.SplitBrain, Seconds: r.Seconds,
	}
}

func (e extEvent) line() string {
	lost := fmt.Sprint(e.Lost)
	if e.Lost < 0 {
		lost = "unknown"
	}
	marked := ""
	if e.MarkedDown != "" {
		marked = " haproxy-marked-down-on=" + e.MarkedDown
	}
	return fmt.Sprintf("HA-EXT event=%s victim=%s vip-holder=%s writes=%d acked=%d lost=%s "+
		"longest-write-gap=%.2fs longest-probe-gap=%.2fs vip-answers-after=%.2fs first-write-after=%.2fs failed-after-loss=%d (writes %d, probes %d) "+
		"holder-changes-under-load=%d%s holders-after-settle=%s split-brain=%t run=%.0fs",
		e.Event, e.Victim, e.Holder, e.Attempted, e.Acked, lost,
		e.Since.WriteGapSec, e.Since.ProbeGapSec, e.AnswerSec, e.WriteSec, e.Since.FailedWrites+e.Since.FailedProbes, e.Since.FailedWrites, e.Since.FailedProbes,
		e.HolderChanges, marked, e.HoldersAfter, e.SplitBrain, e.Seconds)
}

// etcdLeader is the control-plane node whose etcd member leads, asked of each local member.
func (c *cluster) etcdLeader(ctx context.Context) *node {
	t := c.t
	var leader *node
	if err := waitFor(ctx, 30*time.Second, "an etcd leader", func() error {
		for _, n := range c.nodes {
			out, err := n.etcdctl(ctx, "endpoint", "status", "-w", "json")
			if err != nil {
				continue // a member just restarted may not answer yet
			}
			var st []struct {
				Status struct {
					Header struct {
						MemberID uint64 `json:"member_id"`
					} `json:"header"`
					Leader uint64 `json:"leader"`
				}
			}
			if err := json.Unmarshal([]byte(out), &st); err != nil || len(st) != 1 {
				return fmt.Errorf("etcdctl endpoint status on %s: %v: %s", n.name, err, out)
			}
			if st[0].Status.Leader != 0 && st[0].Status.Leader == st[0].Status.Header.MemberID {
				leader = n
				return nil
			}
		}
		return fmt.Errorf("no member says it leads")
	}); err != nil {
		t.Fatal(err)
	}
	return leader
}

// loseAPIServer loses control-plane node victim under the write load, while the VIP holders
// are sampled: cp-sigkill SIGKILLs all its processes, cp-linkcut pulls its cable. Neither may
// move the VIP (no load-balancer node was touched), every remaining HAProxy must mark its
// server DOWN, and no acknowledged write may be lost.
func (c *cluster) loseAPIServer(ctx context.Context, api *apiClient, mode string, victim *node) extEvent {
	t := c.t
	began := time.Now()
	e := extEvent{Event: mode, Victim: victim.name}
	holder := c.singleHolder(ctx)
	t.Logf("%s: etcd leader %s, VIP on %s; write load for %s before losing it", mode, victim.name, holder.name, preKill)
	l := startLoad(ctx, api, mode)
	s := c.sampleHolders()
	time.Sleep(preKill)

	t0 := time.Now()
	switch mode {
	case "cp-sigkill":
		k := victim.killAll()
		t.Logf("%s: SIGKILLed %d processes of %s", mode, k, victim.name)
	case "cp-linkcut":
		c.linkSet(ctx, victim, false)
		t.Logf("%s: cut the link of %s", mode, victim.name)
	default:
		t.Fatalf("unknown control-plane loss %q", mode)
	}
	// Every load balancer must take the lost server out of rotation.
	var down []string
	_ = waitFor(ctx, cpAfterLoss, "HAProxy marking "+victim.ip.String()+" down", func() error {
		down = down[:0]
		for _, n := range c.lbs {
			if st := lastServerState(filepath.Join(n.dir, "haproxy.log"), victim.ip.String()); st != "DOWN" {
				return fmt.Errorf("%s: last state %q", n.name, st)
			}
			down = append(down, n.name)
		}
		return nil
	})
	e.MarkedDown = fmt.Sprintf("%s(+%.2fs)", strings.Join(down, ","), time.Since(t0).Seconds())
	if len(down) != len(c.lbs) {
		t.Errorf("%s: HAProxy marked %s down on %d of %d load-balancer nodes", mode, victim.ip, len(down), len(c.lbs))
	}
	time.Sleep(time.Until(t0.Add(cpAfterLoss)))
	loadEnd := time.Now()
	s.stop()
	l.stop()

	// What the client saw after the loss.
	if a, ok := firstOK(l.probes, t0); ok {
		e.Recovered, e.AnswerSec = true, a.Sub(t0).Seconds()
	}
	if w, ok := firstOK(l.writes, t0); ok {
		e.WriteSec = w.Sub(t0).Seconds()
	}
	e.Since = l.since(t0, loadEnd)
	_, we := failedBetween(l.writes, t0, loadEnd)
	_, pe := failedBetween(l.probes, t0, loadEnd)
	for k, v := range pe {
		we[k] += v
	}
	e.FailedErrors = topErrs(we)
	e.Attempted, e.Acked = len(l.writes), len(l.acked)
	for _, x := range s.samples {
		if x.holders != holder.name {
			e.HolderChanges++
			if e.HolderChanges <= 5 {
				t.Logf("%s: +%.2fs holders %s (before the loss: %s)", mode, x.at.Sub(t0).Seconds(), x.holders, holder.name)
			}
		}
	}
	if e.HolderChanges > 0 {
		t.Errorf("%s: losing a control-plane node changed the VIP holders in %d of %d samples", mode, e.HolderChanges, len(s.samples))
	}
	e.Holder = names(c.holders())
	t.Logf("%s: longest gap %.2fs (writes), %.2fs (probes); first answer %.2fs, first write %.2fs after losing %s; failed: %d writes, %d probes%s",
		mode, e.Since.WriteGapSec, e.Since.ProbeGapSec, e.AnswerSec, e.WriteSec, victim.name, e.Since.FailedWrites, e.Since.FailedProbes, e.FailedErrors)

	// The node returns; the cluster settles with one VIP holder.
	switch mode {
	case "cp-sigkill":
		victim.restart()
	case "cp-linkcut":
		c.linkSet(ctx, victim, true)
	}
	if err := c.nodeReady(ctx, victim, 3*time.Minute); err != nil {
		t.Errorf("%s: %s did not come back: %v", mode, victim.name, err)
	}
	e.HoldersAfter, e.SplitBrain = c.settle()
	e.Lost, e.LostNames = c.readBack(ctx, api, mode, l.acked)
	e.acked = l.acked
	e.Seconds = time.Since(began).Seconds()
	t.Log(e.line())
	return e
}

// settle waits settleWait, then samples the holders for settleWindow; split is true unless
// every sample shows exactly one holder.
func (c *cluster) settle() (summary string, split bool) {
	time.Sleep(settleWait)
	counts := map[string]int{}
	var order []string
	for end := time.Now().Add(settleWindow); time.Now().Before(end); time.Sleep(holderSampleGap) {
		hs := c.holders()
		if counts[names(hs)] == 0 {
			order = append(order, names(hs))
		}
		counts[names(hs)]++
		if len(hs) != 1 {
			split = true
		}
	}
	var parts []string
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%s(%d samples)", k, counts[k]))
	}
	return strings.Join(parts, ","), split
}

// proveLostWritesSeen is the bookkeeping's negative control: acknowledged writes of the
// cp-sigkill load deleted through the API must come back from the same read-back as lost,
// by name; a read-back that could not see a loss would pass here.
func (c *cluster) proveLostWritesSeen(t *testing.T, ctx context.Context, api *apiClient, e extEvent) {
	if len(e.acked) < deletedAcked {
		t.Fatalf("%s acknowledged %d writes, the control needs %d", e.Event, len(e.acked), deletedAcked)
	}
	var gone []string
	for i := range deletedAcked {
		name := e.acked[i*(len(e.acked)-1)/(deletedAcked-1)] // first, middle, last
		if err := api.delete(ctx, name); err != nil {
			t.Fatalf("deleting %s: %v", name, err)
		}
		gone = append(gone, name)
	}
	lost, lostNames := c.readBack(ctx, api, e.Event, e.acked)
	t.Logf("negative control: deleted %s of %d acknowledged %s writes; the read-back counts %d lost: %v",
		strings.Join(gone, ","), len(e.acked), e.Event, lost, lostNames)
	if lost != deletedAcked || strings.Join(lostNames, ",") != strings.Join(gone, ",") {
		t.Errorf("negative control: %d acknowledged writes deleted (%v), the read-back found %d lost (%v)", deletedAcked, gone, lost, lostNames)
	}
}

var vridLine = regexp.MustCompile(`(?m)^(\s*virtual_router_id\s+)(\d+)\s*$`)

// proveSplitSeen is the holder check's negative control: a load-balancer node that does not
// hold the VIP restarts keepalived from a copy of its config with another VRRP router ID, so it
// no longer hears the holder's adverts; the 50 ms samples must show two holders. The node's
// own config is then restored and the VIP must settle on one holder again.
func (c *cluster) proveSplitSeen(t *testing.T, ctx context.Context) {
	hs := c.holders()
	if len(hs) != 1 {
		t.Fatalf("before the control: holders %s", names(hs))
	}
	var n *node
	for _, lb := range c.lbs {
		if lb != hs[0] {
			n = lb
		}
	}
	data, err := os.ReadFile(filepath.Join(n.root, "etc/keepalived/keepalived.conf"))
	testkit.Must(t, err)
	m := vridLine.FindSubmatch(data)
	if m == nil {
		t.Fatalf("%s: no virtual_router_id in keepalived.conf", n.name)
	}
	id, _ := strconv.Atoi(string(m[2]))
	other := id%255 + 1
	broken := vridLine.ReplaceAll(data, []byte("${1}"+strconv.Itoa(other)))
	path := filepath.Join(n.dir, "keepalived-broken.conf")
	testkit.Must(t, os.WriteFile(path, broken, 0o600))
	args := strings.Replace(layers.KeepalivedArgs, "/etc/keepalived/keepalived.conf", path, 1)
	if args == layers.KeepalivedArgs {
		t.Fatalf("keepalived's command line names no /etc/keepalived/keepalived.conf: %s", args)
	}

	k := n.kill("keepalived")
	t.Logf("negative control: %s (holder %s) restarts keepalived (%d processes killed) with virtual_router_id %d instead of %d", n.name, hs[0].name, k, other, id)
	n.waitReaped(t, ctx)
	s := c.sampleHolders()
	n.start("keepalived-broken", append([]string{"keepalived"}, strings.Fields(args)...)...)
	time.Sleep(splitSamples)
	s.stop()
	if log, _ := os.ReadFile(filepath.Join(n.dir, "keepalived-broken.log")); !strings.Contains(string(log), "Entering MASTER STATE") {
		t.Logf("negative control: the broken keepalived on %s never logged MASTER:\n%s", n.name, testkit.LastLines(string(log), 10))
	}
	multi, first := 0, ""
	for _, x := range s.samples {
		if x.count > 1 {
			if multi == 0 {
				first = fmt.Sprintf("+%.2fs %s", x.at.Sub(s.samples[0].at).Seconds(), x.holders)
			}
			multi++
		}
	}
	t.Logf("negative control: %d of %d samples with two holders (first %s)", multi, len(s.samples), first)
	if multi == 0 {
		t.Errorf("negative control: a load balancer with another VRRP router ID showed no second holder: the holder check cannot fail")
	}

	// Restore the generated config; the VIP must settle on one holder.
	n.kill("keepalived")
	n.waitReaped(t, ctx)
	n.start("keepalived", append([]string{"keepalived"}, strings.Fields(layers.KeepalivedArgs)...)...)
	if err := waitFor(ctx, 30*time.Second, "one holder after restoring "+n.name, func() error {
		if hs := c.holders(); len(hs) != 1 {
			return fmt.Errorf("holders: %s", names(hs))
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	after, split := c.settle()
	t.Logf("after restoring %s's config: holders %s", n.name, after)
	if split {
		t.Errorf("after restoring %s's config: not exactly one holder (%s)", n.name, after)
	}
}

// waitReaped waits until no pid file in node n's /run names a process that still exists:
// keepalived refuses to start ("daemon is already running") while a killed one is a zombie not
// yet reaped, which a restart right after the kill meets.
func (n *node) waitReaped(t *testing.T, ctx context.Context) {
	run := fmt.Sprintf("/proc/%d/root/run", n.holder.Process.Pid)
	if err := waitFor(ctx, 30*time.Second, "killed processes of "+n.name+" reaped", func() error {
		files, _ := filepath.Glob(filepath.Join(run, "*.pid"))
		for _, f := range files {
			data, _ := os.ReadFile(f)
			pid := strings.TrimSpace(string(data))
			if _, err := os.Stat("/proc/" + pid); pid != "" && err == nil {
				return fmt.Errorf("%s names %s, which still exists", filepath.Base(f), pid)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// delete removes ConfigMap name.
func (a *apiClient) delete(ctx context.Context, name string) error {
	code, body, err := a.do(ctx, a.hc, http.MethodDelete, "/api/v1/namespaces/"+testNamespace+"/configmaps/"+name, nil)
	if err != nil {
		return err
	}
	if code != http.StatusOK && code != http.StatusAccepted {
		return fmt.Errorf("delete %s: HTTP %d: %.200s", name, code, body)
	}
	return nil
}
