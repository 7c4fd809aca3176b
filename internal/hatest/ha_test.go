//go:build hatest

package hatest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ignigen/ignigen/internal/layers"
	"github.com/ignigen/ignigen/internal/testkit"
)

// Bounds of the whole test (the Makefile gives go test 15 minutes; this leaves time to clean up).
const (
	testBudget      = 13 * time.Minute
	preKill         = 15 * time.Second // load before the kill: also watches for false failovers
	recoveryLimit   = 30 * time.Second // no answer through the VIP by then fails the test
	afterRecovery   = 5 * time.Second  // load kept up after the VIP answers again
	settleWait      = 4 * time.Second  // after the old node is back, before judging the VIP
	settleWindow    = 4 * time.Second  // every sample in it must show exactly one holder
	holderSampleGap = 100 * time.Millisecond
)

func TestHA(t *testing.T) {
	requireRoot(t)
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), testBudget)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := newCluster(t, ctx, fmt.Sprintf("%s%d", nsPrefix, os.Getpid()))

	// 1. Build the example topology and apply each control-plane config with Ignition. The
	// sysext image the configs reference comes from a loopback server in a namespace of ours.
	fetchNS, sysextURL, closeFetch := c.startFetch(ctx)
	c.buildTopology(sysextURL)
	c.applyIgnition(ctx, fetchNS)
	closeFetch()
	t.Logf("built and applied in %s", time.Since(began).Round(time.Second))

	api := c.bringUp(ctx, began)

	// A late join's token: `ignigen token create` against the real API servers; and the init
	// node's guard, which must find the running cluster.
	kc, err := loadKubeconfig(filepath.Join(c.out, "admin.kubeconfig"))
	testkit.Must(t, err)
	t.Run("token", func(t *testing.T) { c.proveTokenCreate(t, ctx, kc) })
	t.Run("init-guard", func(t *testing.T) { c.proveInitGuard(t, ctx) })

	// 4. Lose the VIP holder: first SIGKILL all its processes, then cut its link.
	var results []result
	for _, mode := range []string{"sigkill", "linkcut", "haproxy"} {
		r := c.failover(ctx, api, mode)
		results = append(results, r)
		writeJSON(filepath.Join(c.dir, "result-"+mode+".json"), r)
		if ctx.Err() != nil {
			t.Fatalf("test budget exhausted: %v", ctx.Err())
		}
	}
	t.Logf("total run time %s", time.Since(began).Round(time.Second))
	for _, r := range results {
		fmt.Println(r.line())
		t.Log(r.line())
	}
	for _, r := range results {
		if !r.Recovered {
			t.Errorf("%s: the VIP did not answer within %s of losing %s", r.Mode, recoveryLimit, r.Victim)
		}
		if r.Lost > 0 {
			t.Errorf("%s: %d acknowledged writes lost: %v", r.Mode, r.Lost, r.LostNames)
		}
		if r.SplitBrain {
			t.Errorf("%s: the VIP is not held by exactly one node after settling (%s)", r.Mode, r.HoldersAfter)
		}
	}
	if t.Failed() {
		c.dumpLogs()
	}
}

// requireRoot skips unless root and fails when a tool the suite runs is missing.
func requireRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the HA test needs root (network and mount namespaces); run `make ha-test` as root")
	}
	for _, b := range []string{"haproxy", "keepalived", "curl", "ip", "nsenter", "unshare", "sysctl", "mount"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Fatalf("%s not found: run `scripts/tools.sh apt` (make ha-test does)", b)
		}
	}
}

// newCluster makes the scratch directory and registers the cleanup of everything the test
// starts; id prefixes every namespace (nsPrefix + PID first, see removeStale).
func newCluster(t *testing.T, ctx context.Context, id string) *cluster {
	c := &cluster{t: t, tools: map[string]string{}, id: id}
	for _, name := range []string{"ignition", "kubeadm", "kube-apiserver", "etcd", "etcdctl"} {
		c.tools[name] = testkit.Tool(t, name)
	}
	var err error
	c.dir, err = os.MkdirTemp("", "ignigen-hatest-")
	testkit.Must(t, err)
	testkit.Must(t, os.Chmod(c.dir, 0o755)) // Ignition writes user core's SSH keys as core
	c.out = filepath.Join(c.dir, "out")
	c.sw, c.client = c.id+"-sw", c.id+"-client"
	t.Cleanup(func() {
		c.cleanup()
		if t.Failed() || os.Getenv("IGNIGEN_HATEST_KEEP") != "" {
			t.Logf("logs and applied roots kept in %s", c.dir)
		} else {
			_ = os.RemoveAll(c.dir)
		}
	})
	removeStale(ctx, t)
	return c
}

// startFetch starts the stand-in sysext server on loopback in a namespace of its own; it
// returns the namespace, the base URL and a function that stops both.
func (c *cluster) startFetch(ctx context.Context) (string, string, func()) {
	t := c.t
	fetchNS := c.id + "-fetch"
	run(t, ctx, "ip", "netns", "add", fetchNS)
	run(t, ctx, "ip", "-n", fetchNS, "link", "set", "lo", "up")
	ln, err := netns(fetchNS, func() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") })
	testkit.Must(t, err)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(testkit.StandIn(path.Base(r.URL.Path)))
	})}
	go func() { _ = srv.Serve(ln) }()
	return fetchNS, "http://" + ln.Addr().String() + "/extensions", func() {
		_ = srv.Close()
		run(t, ctx, "ip", "netns", "del", fetchNS)
	}
}

// bringUp starts the applied nodes: namespaces, kubeadm phases, etcd, kube-apiserver, then
// the load balancers (the init node's first), and returns a client of admin.kubeconfig.
func (c *cluster) bringUp(ctx context.Context, began time.Time) *apiClient {
	t := c.t
	// 2. One network + mount namespace per node, a switch, a client.
	c.network(ctx)
	c.startHolders(ctx)

	// 3. kubeadm certificates and manifests, then etcd, kube-apiserver, HAProxy, keepalived.
	c.prepare(ctx)
	// Before any API server runs, the init node's guard must decide to initialise (a first boot).
	if d, out, took := c.runInitGuard(ctx, ""); d != "init" {
		t.Fatalf("no API server runs yet, but init-or-join decided %q:\n%s", d, out)
	} else {
		t.Logf("no API server yet: init-or-join decides %q in %s", d, took.Round(time.Millisecond))
	}
	c.startEtcd(ctx)
	for _, n := range c.nodes {
		n.startAPIServer()
	}
	for _, n := range c.nodes {
		if err := c.apiReady(ctx, n, 4*time.Minute); err != nil {
			c.dumpLogs()
			t.Fatal(err)
		}
	}
	t.Logf("etcd and kube-apiserver up on every node after %s", time.Since(began).Round(time.Second))
	// The init node's load balancer first, as when the cluster boots (with load-balancer nodes,
	// the first of them); then the others.
	first := c.balancers()[0]
	for _, n := range c.balancers() {
		if n.init {
			first = n
		}
	}
	first.startLB()
	if err := waitFor(ctx, 30*time.Second, "VIP on "+first.name, func() error {
		if hs := c.holders(); len(hs) != 1 || hs[0] != first {
			return fmt.Errorf("holders: %s", names(hs))
		}
		return nil
	}); err != nil {
		c.dumpLogs()
		t.Fatal(err)
	}
	for _, n := range c.balancers() {
		if n != first {
			n.startLB()
		}
	}
	// kubeadm init's own RBAC step: binds kubeadm:cluster-admins, the group of the generated
	// admin kubeconfig (through the VIP, with kubeadm's admin.conf and super-admin.conf).
	ka := c.tools["kubeadm"]
	in := c.initNode()
	in.exec(ctx, ka, "init", "phase", "kubeconfig", "admin", "--config", in.kubeadm)
	in.exec(ctx, ka, "init", "phase", "kubeconfig", "super-admin", "--config", in.kubeadm)
	in.exec(ctx, ka, "init", "phase", "upload-config", "kubeadm", "--config", in.kubeadm)

	kc, err := loadKubeconfig(filepath.Join(c.out, "admin.kubeconfig"))
	testkit.Must(t, err)
	api, err := newAPIClient(kc, c.client)
	testkit.Must(t, err)
	if err := waitFor(ctx, 60*time.Second, "a create through the VIP with admin.kubeconfig", func() error {
		_, err := api.create(ctx, "smoke", "ha-smoke", 0)
		return err
	}); err != nil {
		c.dumpLogs()
		t.Fatal(err)
	}
	// Give the late nodes' track scripts time to rise before the first measurement.
	time.Sleep(3 * time.Second)
	t.Logf("cluster ready after %s; VIP %s on %s", time.Since(began).Round(time.Second), c.vip, names(c.holders()))
	return api
}

// result is one failover run.
type result struct {
	Mode           string
	Victim         string
	NewHolder      string
	Attempted      int
	Acked          int
	Lost           int
	LostNames      []string `json:",omitempty"`
	Recovered      bool
	VRRPSec        float64    // kill → another node has the VIP
	AnswerSec      float64    // kill → first answer through the VIP (GET /version)
	WriteSec       float64    // kill → first acknowledged write
	Since          clientView // from the kill to the end of the load: gaps, failures
	FailedWrites   int
	FailedProbes   int
	FailedErrors   string
	FalseFailovers int
	StaleVIP       bool // the lost node's interface still carries the VIP while it is down
	// MultiHolderSamples counts samples from the loss until the end of the load in which more
	// than one surviving node carried the VIP (two backups timing out together, resolved by the next adverts).
	MultiHolderSamples int
	HoldersAfter       string
	SplitBrain         bool
	ReturnedTookVIP    bool
	Preempt            bool
	Seconds            float64
}

func (r result) line() string {
	policy := "as documented"
	if r.ReturnedTookVIP != r.Preempt {
		policy = "NOT as documented"
	}
	yes := map[bool]string{true: "yes", false: "no"}
	lost := fmt.Sprint(r.Lost)
	if r.Lost < 0 {
		lost = "unknown"
	}
	return fmt.Sprintf("HA-RESULT mode=%s victim=%s new-holder=%s writes=%d acked=%d lost=%s "+
		"vip-answers-after=%.2fs first-write-after=%.2fs vrrp-takeover-after=%.2fs failed-in-between=%d (writes %d, probes %d) "+
		"false-failovers=%d takeover-samples-with-two-holders=%d stale-vip-on-lost-node=%s holders-after-settle=%s split-brain=%s old-node-took-vip-back=%s (preempt=%t: %s) run=%.0fs",
		r.Mode, r.Victim, r.NewHolder, r.Attempted, r.Acked, lost,
		r.AnswerSec, r.WriteSec, r.VRRPSec, r.FailedWrites+r.FailedProbes, r.FailedWrites, r.FailedProbes,
		r.FalseFailovers, r.MultiHolderSamples, yes[r.StaleVIP], r.HoldersAfter, yes[r.SplitBrain], yes[r.ReturnedTookVIP], r.Preempt, policy, r.Seconds)
}

// singleHolder waits (30 s at most) until exactly one node holds the VIP and returns it; else
// the test ends with every node's logs.
func (c *cluster) singleHolder(ctx context.Context) *node {
	var holder *node
	if err := waitFor(ctx, 30*time.Second, "a single VIP holder", func() error {
		hs := c.holders()
		if len(hs) != 1 {
			return fmt.Errorf("holders: %s", names(hs))
		}
		holder = hs[0]
		return nil
	}); err != nil {
		c.dumpLogs()
		c.t.Fatal(err)
	}
	return holder
}

// failover runs the write load, loses the VIP holder (mode sigkill or linkcut), measures the
// recovery, brings the node back and reads every acknowledged write back.
func (c *cluster) failover(ctx context.Context, api *apiClient, mode string) result {
	t := c.t
	began := time.Now()
	r := result{Mode: mode, Preempt: c.preempt}
	victim := c.singleHolder(ctx)
	r.Victim = victim.name
	t.Logf("%s: VIP on %s; write load for %s before losing it", mode, victim.name, preKill)

	l := startLoad(ctx, api, mode)
	// Before the kill: any change of holder under load is a false failover.
	for end := time.Now().Add(preKill); time.Now().Before(end); time.Sleep(holderSampleGap) {
		if hs := c.holders(); len(hs) != 1 || hs[0] != victim {
			r.FalseFailovers++
			t.Logf("%s: false failover? holders %s under load", mode, names(hs))
		}
	}

	t0 := time.Now()
	switch mode {
	case "sigkill":
		k := victim.killAll()
		t.Logf("%s: SIGKILLed %d processes of %s", mode, k, victim.name)
	case "linkcut":
		c.linkSet(ctx, victim, false)
		t.Logf("%s: cut the link of %s", mode, victim.name)
	case "haproxy":
		k := victim.kill("haproxy")
		t.Logf("%s: SIGKILLed %d HAProxy processes of %s (keepalived keeps running)", mode, k, victim.name)
	}
	var takeover time.Time
	deadline := t0.Add(recoveryLimit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		hs := c.holders()
		live := 0
		for _, h := range hs {
			if h != victim {
				live++
			}
		}
		if live > 1 {
			r.MultiHolderSamples++
		}
		for _, h := range hs {
			if h != victim && takeover.IsZero() {
				takeover, r.NewHolder = time.Now(), h.name
			}
		}
		l.mu.Lock()
		_, ok := firstOK(l.probes, t0)
		l.mu.Unlock()
		if ok && !takeover.IsZero() {
			break
		}
		time.Sleep(holderSampleGap / 2)
	}
	for _, h := range c.holders() {
		if h == victim {
			r.StaleVIP = true
		}
	}
	l.mu.Lock()
	answer, ok := firstOK(l.probes, t0)
	l.mu.Unlock()
	if ok {
		r.Recovered = true
		// Load goes on; two surviving holders at once would show here too.
		for end := time.Now().Add(afterRecovery); time.Now().Before(end); time.Sleep(holderSampleGap / 2) {
			live := 0
			for _, h := range c.holders() {
				if h != victim {
					live++
				}
			}
			if live > 1 {
				r.MultiHolderSamples++
			}
		}
	}
	loadEnd := time.Now()
	l.stop()
	r.Since = l.since(t0, loadEnd)
	if !takeover.IsZero() {
		r.VRRPSec = takeover.Sub(t0).Seconds()
	}
	if ok {
		r.AnswerSec = answer.Sub(t0).Seconds()
		if w, ok := firstOK(l.writes, t0); ok {
			r.WriteSec = w.Sub(t0).Seconds()
		}
		var we, pe map[string]int
		r.FailedWrites, we = failedBetween(l.writes, t0, answer)
		r.FailedProbes, pe = failedBetween(l.probes, t0, answer)
		for k, v := range pe {
			we[k] += v
		}
		r.FailedErrors = topErrs(we)
		var tl []string
		for _, a := range l.probes {
			if !a.start.Before(t0.Add(-300*time.Millisecond)) && !a.start.After(answer) {
				tl = append(tl, fmt.Sprintf("%+.2f..%+.2f %s", a.start.Sub(t0).Seconds(), a.end.Sub(t0).Seconds(), map[bool]string{true: "ok", false: shortErr(a.err)}[a.ok]))
			}
		}
		t.Logf("%s: probes around the loss (seconds from it):\n    %s", mode, strings.Join(tl, "\n    "))
	}
	r.Attempted, r.Acked = len(l.writes), len(l.acked)
	t.Logf("%s: VIP answers %.2fs after losing %s (VRRP takeover by %s after %.2fs), first write %.2fs; failed in between: %d writes, %d probes%s",
		mode, r.AnswerSec, victim.name, r.NewHolder, r.VRRPSec, r.WriteSec, r.FailedWrites, r.FailedProbes, r.FailedErrors)

	// The lost node returns: its processes restart (sigkill) or its cable goes back (linkcut).
	switch mode {
	case "sigkill":
		victim.restart()
	case "linkcut":
		c.linkSet(ctx, victim, true)
	case "haproxy":
		victim.start("haproxy", strings.Fields(layers.HAProxyArgs)...)
	}
	if err := c.nodeReady(ctx, victim, 3*time.Minute); err != nil {
		t.Errorf("%s: %s did not come back: %v", mode, victim.name, err)
	}
	time.Sleep(settleWait)
	var last []*node
	counts := map[string]int{}
	for end := time.Now().Add(settleWindow); time.Now().Before(end); time.Sleep(holderSampleGap) {
		last = c.holders()
		counts[names(last)]++
		if len(last) != 1 {
			r.SplitBrain = true
		}
	}
	var parts []string
	for k, v := range counts {
		parts = append(parts, fmt.Sprintf("%s(%d samples)", k, v))
	}
	r.HoldersAfter = strings.Join(parts, ",")
	if len(last) == 1 && last[0] == victim {
		r.ReturnedTookVIP = true
	}

	// Read everything back through the VIP.
	r.Lost, r.LostNames = c.readBack(ctx, api, mode, l.acked)
	r.Seconds = time.Since(began).Seconds()
	t.Log(r.line())
	return r
}

// readBack lists run's ConfigMaps through the VIP and returns how many acknowledged names are
// missing, with the first ten of them; -1 (and a failed test) when the list cannot be read.
func (c *cluster) readBack(ctx context.Context, api *apiClient, run string, acked []string) (int, []string) {
	var got map[string]bool
	if err := waitFor(ctx, 30*time.Second, "reading the writes back", func() error {
		var err error
		got, err = api.list(ctx, run)
		return err
	}); err != nil {
		c.t.Errorf("%s: %v", run, err)
		return -1, nil
	}
	return countLost(acked, got)
}

// countLost counts the acknowledged names missing from got, and returns the first ten.
func countLost(acked []string, got map[string]bool) (int, []string) {
	lost, names := 0, []string(nil)
	for _, name := range acked {
		if !got[name] {
			lost++
			if len(names) < 10 {
				names = append(names, name)
			}
		}
	}
	return lost, names
}
