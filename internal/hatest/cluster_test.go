//go:build hatest

package hatest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ignigen/ignigen/internal/cli"
	"github.com/ignigen/ignigen/internal/kubeconfig"
	"github.com/ignigen/ignigen/internal/layers"
	"github.com/ignigen/ignigen/internal/testkit"
	"github.com/ignigen/ignigen/internal/topology"
)

// nsPrefix names every network namespace this test makes; the PID keeps parallel runs apart
// and lets a later run recognise leftovers of a run that was killed hard.
const nsPrefix = "ighat"

// cluster is the topology's view the test needs, read from the build's manifest and the
// topology itself (never from the test's own constants).
type cluster struct {
	t      *testing.T
	dir    string // test scratch directory
	topo   string // the topology built, for rebuilds
	out    string // ignigen build output
	tools  map[string]string
	id     string  // nsPrefix + PID
	sw     string  // switch namespace (holds the bridge)
	client string  // client namespace
	nodes  []*node // the API servers (etcd + kube-apiserver)
	lbs    []*node // dedicated load-balancer nodes (external balancing only)

	vip      netip.Addr
	port     int
	bindPort int
	bits     int
	iface    string
	gateway  netip.Addr
	preempt  bool
	advert   time.Duration

	mu    sync.Mutex
	procs []*proc
}

type node struct {
	c        *cluster
	name     string
	ip       netip.Addr
	mac      string
	init     bool
	ns       string // network namespace
	balancer bool   // runs keepalived + HAProxy (holds the VIP)
	lbOnly   bool   // a load-balancer node: no etcd, no kube-apiserver
	port     string // its veth on the switch
	root     string // where its Ignition config was applied
	dir      string // scratch: logs, etcd data, overlays
	holder   *exec.Cmd
	etcd     []string
	apiSrv   []string
	kubeadm  string // kubeadm configuration for `kubeadm init phase ...`
	etcdPeer string
}

type proc struct {
	node *node
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// run runs a command and fails the test with its output when it fails.
func run(t *testing.T, ctx context.Context, name string, args ...string) string {
	t.Helper()
	out, err := runErr(ctx, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// buildTopology writes the example topology, with the sysext base URL pointing at a server
// inside the test's own namespace, and runs `ignigen build` on it.
func (c *cluster) buildTopology(sysextURL string) {
	t := c.t
	topo := c.exampleTopology(sysextURL)
	c.topo = topo
	if code, stdout, stderr := c.build(topo); code != 0 {
		t.Fatalf("ignigen build: exit %d\n%s%s", code, stdout, stderr)
	}
	c.loadTopology(topo)
	if len(c.nodes) < 3 {
		t.Fatalf("the example topology has %d control-plane nodes, the test needs 3", len(c.nodes))
	}
}

// exampleTopology writes the example topology with the sysext base URL given and returns its path.
func (c *cluster) exampleTopology(sysextURL string) string {
	t := c.t
	example := filepath.Join(c.dir, "example-topology.yaml")
	testkit.Must(t, os.WriteFile(example, topology.Example, 0o644))
	return testkit.WithSysextBaseURL(t, example, sysextURL)
}

// build runs `ignigen build topo -o OUT args...` and returns its exit code and output.
func (c *cluster) build(topo string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := cli.Run(append([]string{"build", topo, "-o", c.out}, args...), &cli.Env{Stdout: &stdout, Stderr: &stderr})
	c.t.Logf("ignigen build %s %s: exit %d\n%s%s", filepath.Base(filepath.Dir(topo))+"/"+filepath.Base(topo), strings.Join(args, " "), code, stdout.String(), stderr.String())
	return code, stdout.String(), stderr.String()
}

// loadTopology reads the cluster's view from topo and adds the control-plane nodes the test
// does not know yet (a node that left the topology stays known: its namespace may still exist).
func (c *cluster) loadTopology(topo string) {
	t := c.t
	data, err := os.ReadFile(topo)
	testkit.Must(t, err)
	mc, r, err := topology.Parse(topo, data)
	if err != nil {
		t.Fatalf("topology: %v\n%s", err, r.String())
	}
	c.vip = mc.Endpoint.VIP
	c.port = mc.Endpoint.Port
	c.bindPort = mc.Endpoint.BindPort
	c.bits = mc.Network.CIDR.Bits()
	c.iface = mc.Network.Interface
	c.gateway = mc.Network.Gateway
	c.preempt = mc.VRRP.Preempt
	c.advert = mc.VRRP.AdvertInterval
	for _, n := range mc.APIServers() {
		if c.node(n.Name) != nil {
			continue
		}
		c.nodes = append(c.nodes, &node{
			c: c, name: n.Name, ip: n.IP, mac: n.MAC, init: n.Init,
			balancer: n.Role.Balances(mc.ExternalLB),
			ns:       fmt.Sprintf("%s-%s", c.id, n.Name),
			port:     fmt.Sprintf("p%d", len(c.nodes)+1),
			root:     filepath.Join(c.dir, n.Name, "root"),
			dir:      filepath.Join(c.dir, n.Name),
		})
	}
	// Load-balancer nodes (external balancing): the VIP holders, with nothing of Kubernetes.
	for _, n := range mc.Balancers() {
		if n.Role.Spec().APIServer || c.node(n.Name) != nil {
			continue
		}
		c.lbs = append(c.lbs, &node{
			c: c, name: n.Name, ip: n.IP, mac: n.MAC, balancer: true, lbOnly: true,
			ns:   fmt.Sprintf("%s-%s", c.id, n.Name),
			port: fmt.Sprintf("l%d", len(c.lbs)+1),
			root: filepath.Join(c.dir, n.Name, "root"),
			dir:  filepath.Join(c.dir, n.Name),
		})
	}
}

// machines is every node the test runs: the API servers, then the load-balancer nodes.
func (c *cluster) machines() []*node {
	return append(append([]*node(nil), c.nodes...), c.lbs...)
}

// balancers are the nodes that run keepalived and HAProxy: the VIP's possible holders.
func (c *cluster) balancers() []*node {
	var out []*node
	for _, n := range c.machines() {
		if n.balancer {
			out = append(out, n)
		}
	}
	return out
}

// node is the known node of that name, or nil.
func (c *cluster) node(name string) *node {
	for _, n := range c.machines() {
		if n.name == name {
			return n
		}
	}
	return nil
}

// netns runs f on a thread that has entered network namespace ns, then moves the thread back.
// Threads must not end: children started with Pdeathsig from a thread die with it.
func netns[T any](ns string, f func() (T, error)) (T, error) {
	type res struct {
		v   T
		err error
	}
	ch := make(chan res, 1)
	go func() {
		runtime.LockOSThread()
		var zero T
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- res{zero, err}
			return
		}
		defer unix.Close(orig)
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- res{zero, err}
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- res{zero, fmt.Errorf("setns %s: %w", ns, err)}
			return
		}
		v, err := f()
		if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		} // else the thread stays locked and ends with this goroutine
		ch <- res{v, err}
	}()
	r := <-ch
	return r.v, r.err
}

// dialer dials from inside network namespace ns.
func dialer(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return netns(ns, func() (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		})
	}
}

// applyIgnition applies every control-plane (and load-balancer) config with the real Ignition
// binary to its own Flatcar-shaped root: fetch-offline, then files inside a namespace where a
// loopback server serves the (dummy) sysext image the config references.
func (c *cluster) applyIgnition(ctx context.Context, fetchNS string) {
	for _, n := range c.machines() {
		c.applyNode(ctx, fetchNS, n)
	}
}

// applyNode applies node n's config with Ignition (see applyIgnition).
func (c *cluster) applyNode(ctx context.Context, fetchNS string, n *node) {
	t := c.t
	base := filepath.Join(c.dir, n.name, "ignition")
	testkit.Must(t, os.MkdirAll(base, 0o755))
	// The same Flatcar-shaped root as the integration suite's (core's home, merged /usr).
	testkit.Must(t, testkit.NewFlatcarRoot(n.root))
	args := []string{"-platform", "file", "-root", n.root, "-log-to-stdout",
		"-config-cache", filepath.Join(base, "config.json"),
		"-state-file", filepath.Join(base, "state"),
		"-neednet", filepath.Join(base, "neednet")}
	env := "IGNITION_CONFIG_FILE=" + filepath.Join(c.out, n.name+".ign")
	for _, stage := range []string{"fetch-offline", "files"} {
		cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", fetchNS, "env", env, c.tools["ignition"], "-stage", stage}, args...)...)
		out, err := cmd.CombinedOutput()
		_ = os.WriteFile(filepath.Join(base, stage+".log"), out, 0o644)
		if err != nil {
			t.Fatalf("ignition %s on %s: %v\n%s", stage, n.name, err, testkit.LastLines(string(out), 30))
		}
	}
	if _, err := os.Stat(filepath.Join(n.root, "etc/haproxy/haproxy.cfg")); n.balancer && err != nil {
		t.Fatalf("ignition did not place haproxy.cfg on %s: %v", n.name, err)
	}
}

// removeStale deletes namespaces of earlier runs whose test process is gone.
func removeStale(ctx context.Context, t *testing.T) {
	ents, _ := os.ReadDir("/run/netns")
	for _, e := range ents {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, nsPrefix)
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if unix.Kill(pid, 0) == nil {
			continue // its run is still going
		}
		killNamespaceProcs("", "/run/netns/"+name, unix.CLONE_NEWNET, -1)
		if out, err := runErr(ctx, "ip", "netns", "del", name); err != nil {
			t.Logf("removing stale namespace %s: %v %s", name, err, out)
		} else {
			t.Logf("removed stale namespace %s", name)
		}
	}
}

// network builds the switch, one namespace per node and the client namespace.
func (c *cluster) network(ctx context.Context) {
	t := c.t
	ip := func(args ...string) { run(t, ctx, "ip", args...) }
	ip("netns", "add", c.sw)
	ip("-n", c.sw, "link", "set", "lo", "up")
	ip("-n", c.sw, "link", "add", "br0", "type", "bridge")
	ip("-n", c.sw, "link", "set", "br0", "up")
	c.plug(ctx, c.client, "pc", c.gateway.String(), "")
	for _, n := range c.machines() {
		c.plug(ctx, n.ns, n.port, n.ip.String(), n.mac)
	}
	for _, n := range c.machines() {
		c.sysctls(ctx, n)
	}
}

// addNode gives a node that joins later its namespace on the switch and its sysctls.
func (c *cluster) addNode(ctx context.Context, n *node) {
	c.plug(ctx, n.ns, n.port, n.ip.String(), n.mac)
	c.sysctls(ctx, n)
}

// plug makes namespace ns with a veth on the switch (port name port), address addr, MAC mac.
func (c *cluster) plug(ctx context.Context, ns, port, addr, mac string) {
	ip := func(args ...string) { run(c.t, ctx, "ip", args...) }
	ip("netns", "add", ns)
	ip("-n", ns, "link", "set", "lo", "up")
	ip("-n", c.sw, "link", "add", port, "type", "veth", "peer", "name", c.iface, "netns", ns)
	if mac != "" {
		ip("-n", ns, "link", "set", c.iface, "address", mac)
	}
	ip("-n", ns, "addr", "add", fmt.Sprintf("%s/%d", addr, c.bits), "dev", c.iface)
	ip("-n", c.sw, "link", "set", port, "master", "br0", "up")
	ip("-n", ns, "link", "set", c.iface, "up")
}

// sysctls applies node n's sysctls from the files its Ignition placed (the per-namespace
// net.ipv4 ones: HAProxy's non-local bind of the VIP).
func (c *cluster) sysctls(ctx context.Context, n *node) {
	t := c.t
	files, _ := filepath.Glob(filepath.Join(n.root, "etc/sysctl.d/*.conf"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		testkit.Must(t, err)
		for _, line := range strings.Split(string(data), "\n") {
			k, v, ok := strings.Cut(line, "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if !ok || strings.HasPrefix(k, "#") || !strings.HasPrefix(k, "net.ipv4.") {
				continue
			}
			run(t, ctx, "ip", "netns", "exec", n.ns, "sysctl", "-q", "-w", k+"="+v)
		}
	}
}

// startHolders gives each node a private mount namespace, held by a sleeping process, in which
// the applied /etc/kubernetes, /etc/haproxy and /etc/keepalived sit at their absolute paths.
// The host's /etc and /var/lib are overlaid (writes go to the node's scratch directory), so
// mount points that do not exist on the host can be made without touching it.
func (c *cluster) startHolders(ctx context.Context) {
	for _, n := range c.machines() {
		c.startHolder(ctx, n)
	}
}

// startHolder starts node n's mount namespace holder (see startHolders).
func (c *cluster) startHolder(ctx context.Context, n *node) {
	t := c.t
	testkit.Must(t, os.MkdirAll(filepath.Join(n.dir, "etcd"), 0o700))
	for _, d := range []string{"ovl/etc/up", "ovl/etc/work", "ovl/lib/up", "ovl/lib/work"} {
		testkit.Must(t, os.MkdirAll(filepath.Join(n.dir, d), 0o755))
	}
	h := exec.Command("ip", "netns", "exec", n.ns, "unshare", "--mount", "--propagation", "private", "sleep", "infinity")
	h.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	testkit.Must(t, h.Start())
	n.holder = h
	go func() { _ = h.Wait() }()
	// Wait until the holder has its own mount namespace (unshare exec'd sleep).
	self, _ := os.Readlink("/proc/self/ns/mnt")
	deadline := time.Now().Add(10 * time.Second)
	for {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", h.Process.Pid))
		mnt, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", h.Process.Pid))
		if strings.HasPrefix(string(cmdline), "sleep\x00") && mnt != "" && mnt != self {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mount namespace holder of %s did not start", n.name)
		}
		time.Sleep(20 * time.Millisecond)
	}
	d := n.dir
	lines := []string{
		"set -e",
		"mount -t tmpfs -o mode=0755 tmpfs /run",
		"mount -t overlay overlay -o lowerdir=/etc,upperdir=" + d + "/ovl/etc/up,workdir=" + d + "/ovl/etc/work /etc",
		"mount -t overlay overlay -o lowerdir=/var/lib,upperdir=" + d + "/ovl/lib/up,workdir=" + d + "/ovl/lib/work /var/lib",
		"mkdir -p /etc/kubernetes /etc/haproxy /etc/keepalived /var/lib/etcd",
	}
	// Only what the node's role placed: a load-balancer node has no /etc/kubernetes, a
	// control-plane node of an externally balanced cluster no /etc/haproxy.
	for _, dir := range []string{"/etc/kubernetes", "/etc/haproxy", "/etc/keepalived"} {
		if _, err := os.Stat(n.root + dir); err == nil {
			lines = append(lines, "mount --bind "+n.root+dir+" "+dir)
		}
	}
	lines = append(lines, "mount --bind "+d+"/etcd /var/lib/etcd")
	script := strings.Join(lines, "\n")
	n.exec(ctx, "sh", "-c", script)
}

// nsenter is the command prefix that runs a program inside node n.
func (n *node) nsenter() []string {
	return []string{"nsenter", "-t", strconv.Itoa(n.holder.Process.Pid), "-m", "-n", "--"}
}

// exec runs a short command inside node n and fails the test if it fails.
func (n *node) exec(ctx context.Context, args ...string) string {
	n.c.t.Helper()
	a := append(n.nsenter(), args...)
	return run(n.c.t, ctx, a[0], a[1:]...)
}

func (n *node) execErr(ctx context.Context, args ...string) (string, error) {
	a := append(n.nsenter(), args...)
	return runErr(ctx, a[0], a[1:]...)
}

// start runs a long-lived program inside node n, logging to <node>/<name>.log.
func (n *node) start(name string, args ...string) *proc {
	c := n.c
	logf, err := os.OpenFile(filepath.Join(n.dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	testkit.Must(c.t, err)
	fmt.Fprintf(logf, "==== %s start: %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(args, " "))
	a := append(n.nsenter(), args...)
	cmd := exec.Command(a[0], a[1:]...)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	testkit.Must(c.t, cmd.Start())
	p := &proc{node: n, name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	return p
}

// killNamespaceProcs kills every process whose namespace of the given type is the one at
// path (only those named comm, unless comm is ""), except pid keep, and returns how many it killed. It first stops them all (SIGSTOP,
// repeated until no running one is left, which catches forks) and only then sends SIGKILL, so
// that no process sees another die: keepalived's VRRP child would otherwise get SIGTERM from
// its parent's death and resign cleanly, which is not a crash.
func killNamespaceProcs(comm string, path string, nstype int, keep int) int {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0
	}
	kind := map[int]string{unix.CLONE_NEWNET: "net", unix.CLONE_NEWNS: "mnt"}[nstype]
	want := fmt.Sprintf("%s:[%d]", kind, st.Ino)
	members := func() []int {
		var pids []int
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == keep || pid == os.Getpid() {
				continue
			}
			if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, kind)); l != want {
				continue
			}
			if c, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); comm != "" && strings.TrimSpace(string(c)) != comm {
				continue
			}
			pids = append(pids, pid)
		}
		return pids
	}
	stopped := map[int]bool{}
	for range 50 {
		fresh := 0
		for _, pid := range members() {
			if !stopped[pid] && unix.Kill(pid, unix.SIGSTOP) == nil {
				stopped[pid] = true
				fresh++
			}
		}
		if fresh == 0 {
			break
		}
	}
	killed := 0
	for range 50 {
		pids := members()
		if len(pids) == 0 {
			break
		}
		// Youngest first, so children die before their parents: a parent's death would orphan
		// its stopped process group, and the kernel then continues it (SIGHUP, SIGCONT).
		sort.Slice(pids, func(i, j int) bool { return startTime(pids[i]) > startTime(pids[j]) })
		for _, pid := range pids {
			if unix.Kill(pid, unix.SIGKILL) == nil && stopped[pid] {
				killed++
				delete(stopped, pid)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return killed
}

// startTime is a process's start time in clock ticks since boot (0 when it is gone).
func startTime(pid int) uint64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name in parentheses may contain spaces; fields count from after it.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 {
		return 0
	}
	v, _ := strconv.ParseUint(f[19], 10, 64) // field 22: starttime
	return v
}

// killAll SIGKILLs every process of node n (all but the namespace holder, which stands for
// the machine itself) and returns how many there were.
func (n *node) killAll() int {
	return n.kill("")
}

// kill SIGKILLs the processes of node n named comm (all of them for "").
func (n *node) kill(comm string) int {
	return killNamespaceProcs(comm, fmt.Sprintf("/proc/%d/ns/mnt", n.holder.Process.Pid), unix.CLONE_NEWNS, n.holder.Process.Pid)
}

// cleanup ends every process and namespace the test made. Safe to call more than once.
func (c *cluster) cleanup() {
	for _, n := range c.machines() {
		if n.holder != nil && n.holder.Process != nil {
			n.killAll()
			_ = n.holder.Process.Kill()
		}
	}
	c.mu.Lock()
	for _, p := range c.procs {
		if p.cmd.Process != nil {
			_ = p.cmd.Process.Kill()
		}
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	names := []string{c.client, c.sw, c.id + "-fetch"}
	for _, n := range c.machines() {
		names = append(names, n.ns)
	}
	for _, ns := range names {
		if _, err := os.Stat("/run/netns/" + ns); err != nil {
			continue
		}
		killNamespaceProcs("", "/run/netns/"+ns, unix.CLONE_NEWNET, -1)
		if out, err := runErr(ctx, "ip", "netns", "del", ns); err != nil {
			c.t.Logf("cleanup: ip netns del %s: %v %s", ns, err, out)
		}
	}
}

// pkiHashes fingerprints the CA set Ignition placed, to prove kubeadm never regenerates it.
func pkiHashes(t *testing.T, root string) map[string]string {
	h := map[string]string{}
	for _, f := range []string{"ca.crt", "ca.key", "front-proxy-ca.crt", "front-proxy-ca.key", "etcd/ca.crt", "etcd/ca.key", "sa.key", "sa.pub"} {
		data, err := os.ReadFile(filepath.Join(root, "etc/kubernetes/pki", f))
		testkit.Must(t, err)
		s := sha256.Sum256(data)
		h[f] = hex.EncodeToString(s[:])
	}
	return h
}

// prepare runs the real kubeadm phases on every node: certificates from the placed CA set,
// then the etcd and kube-apiserver static-pod manifests whose command lines the test runs.
func (c *cluster) prepare(ctx context.Context) {
	initCfg := c.initConfig()
	for _, n := range c.nodes {
		c.prepareNode(ctx, n, initCfg)
	}
}

// initConfig is the init node's kubeadm configuration as Ignition placed it.
func (c *cluster) initConfig() []byte {
	t := c.t
	for _, n := range c.nodes {
		if n.init {
			data, err := os.ReadFile(filepath.Join(n.root, "etc/kubernetes/kubeadm/init.yaml"))
			testkit.Must(t, err)
			return data
		}
	}
	t.Fatal("no node carries /etc/kubernetes/kubeadm/init.yaml")
	return nil
}

// prepareNode runs the kubeadm phases of prepare on node n.
func (c *cluster) prepareNode(ctx context.Context, n *node, initCfg []byte) {
	t := c.t
	n.kubeadm = filepath.Join(n.dir, "kubeadm.yaml")
	cfg := initCfg
	if !n.init {
		join, err := os.ReadFile(filepath.Join(n.root, "etc/kubernetes/kubeadm/join.yaml"))
		testkit.Must(t, err)
		cfg, err = InitConfigForJoin(join, initCfg)
		testkit.Must(t, err)
	}
	testkit.Must(t, os.WriteFile(n.kubeadm, cfg, 0o600))
	before := pkiHashes(t, n.root)
	ka := c.tools["kubeadm"]
	n.exec(ctx, ka, "init", "phase", "certs", "all", "--config", n.kubeadm)
	n.exec(ctx, ka, "init", "phase", "etcd", "local", "--config", n.kubeadm)
	n.exec(ctx, ka, "init", "phase", "control-plane", "apiserver", "--config", n.kubeadm)
	after := pkiHashes(t, n.root)
	for f, h := range before {
		if after[f] != h {
			t.Fatalf("kubeadm changed pki/%s on %s: the CA set Ignition placed must be used as is", f, n.name)
		}
	}
	var err error
	n.etcd, err = manifest(n.root, "etcd.yaml")
	testkit.Must(t, err)
	n.apiSrv, err = manifest(n.root, "kube-apiserver.yaml")
	testkit.Must(t, err)
	n.etcd[0] = c.tools["etcd"]
	n.apiSrv[0] = c.tools["kube-apiserver"]
	peer, ok := Flag(n.etcd, "initial-advertise-peer-urls")
	if !ok {
		t.Fatalf("etcd manifest of %s has no --initial-advertise-peer-urls", n.name)
	}
	n.etcdPeer = peer
	if port, _ := Flag(n.apiSrv, "secure-port"); port != strconv.Itoa(c.bindPort) {
		t.Fatalf("kube-apiserver of %s serves on %q, topology says %d", n.name, port, c.bindPort)
	}
}

func manifest(root, name string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(root, "etc/kubernetes/manifests", name))
	if err != nil {
		return nil, err
	}
	return ManifestCommand(data)
}

// etcdctl runs etcdctl inside node n against its local member.
func (n *node) etcdctl(ctx context.Context, args ...string) (string, error) {
	base := []string{n.c.tools["etcdctl"], "--endpoints=https://127.0.0.1:2379",
		"--cacert=/etc/kubernetes/pki/etcd/ca.crt",
		"--cert=/etc/kubernetes/pki/apiserver-etcd-client.crt",
		"--key=/etc/kubernetes/pki/apiserver-etcd-client.key",
		"--command-timeout=5s"}
	return n.execErr(ctx, append(base, args...)...)
}

func waitFor(ctx context.Context, d time.Duration, what string, f func() error) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var last error
	for {
		if last = f(); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: not within %s: %v", what, d, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// startEtcd forms the three-member etcd cluster the way kubeadm join does: the first member
// starts from its manifest as is, every later one is added with `member add` first and starts
// with the members so far and initial-cluster-state=existing.
func (c *cluster) startEtcd(ctx context.Context) {
	t := c.t
	first := c.nodes[0]
	for _, n := range c.nodes {
		if n.init {
			first = n
		}
	}
	order := []*node{first}
	for _, n := range c.nodes {
		if n != first {
			order = append(order, n)
		}
	}
	var members []string
	for i, n := range order {
		name, _ := Flag(n.etcd, "name")
		members = append(members, name+"="+n.etcdPeer)
		if i > 0 {
			// etcd refuses a new voting member until the earlier ones have been active a while.
			if err := waitFor(ctx, 60*time.Second, "etcdctl member add "+name, func() error {
				out, err := first.etcdctl(ctx, "member", "add", name, "--peer-urls="+n.etcdPeer)
				if err != nil {
					return fmt.Errorf("%v: %s", err, testkit.LastLines(out, 1))
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			n.etcd = SetFlag(n.etcd, "initial-cluster", strings.Join(members, ","))
			n.etcd = SetFlag(n.etcd, "initial-cluster-state", "existing")
		}
		n.start("etcd", n.etcd...)
		err := waitFor(ctx, 90*time.Second, "etcd on "+n.name, func() error {
			out, err := n.etcdctl(ctx, "endpoint", "health")
			if err != nil {
				return fmt.Errorf("%v: %s", err, strings.TrimSpace(out))
			}
			return nil
		})
		if err != nil {
			c.dumpLogs()
			t.Fatal(err)
		}
	}
	out, _ := first.etcdctl(ctx, "member", "list", "-w", "table")
	t.Logf("etcd members:\n%s", out)
}

// startAPIServer and startLB start kube-apiserver, HAProxy and keepalived on n, with the command
// lines from its manifests and the generated Quadlet units.
func (n *node) startAPIServer() { n.start("kube-apiserver", n.apiSrv...) }

// restart starts again what node n runs, after its processes were killed.
func (n *node) restart() {
	if !n.lbOnly {
		n.start("etcd", n.etcd...)
		n.startAPIServer()
	}
	if n.balancer {
		n.startLB()
	}
}

// nodeReady waits until node n serves again: an API server answers /readyz; a load-balancer
// node passes its own keepalived track script (its HAProxy sees a healthy API server).
func (c *cluster) nodeReady(ctx context.Context, n *node, d time.Duration) error {
	if !n.lbOnly {
		return c.apiReady(ctx, n, d)
	}
	return waitFor(ctx, d, "track script on "+n.name, func() error {
		out, err := n.execErr(ctx, "/"+trackScript)
		if err != nil {
			return fmt.Errorf("%v: %s", err, strings.TrimSpace(out))
		}
		return nil
	})
}

// trackScript is where a balancing node's config puts keepalived's track script.
const trackScript = "etc/keepalived/check-haproxy.sh"

func (n *node) startLB() {
	n.start("haproxy", strings.Fields(layers.HAProxyArgs)...)
	n.start("keepalived", append([]string{"keepalived"}, strings.Fields(layers.KeepalivedArgs)...)...)
}

// apiReady waits until n's kube-apiserver answers /readyz on its own address.
func (c *cluster) apiReady(ctx context.Context, n *node, d time.Duration) error {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext:       dialer(c.client),
		TLSClientConfig:   insecureTLS(),
		DisableKeepAlives: true,
	}}
	url := fmt.Sprintf("https://%s/readyz", net.JoinHostPort(n.ip.String(), strconv.Itoa(c.bindPort)))
	return waitFor(ctx, d, "kube-apiserver /readyz on "+n.name, func() error {
		resp, err := hc.Get(url)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s: %s", resp.Status, testkit.LastLines(string(body), 5))
		}
		return nil
	})
}

// holders lists the nodes whose interface carries the VIP.
func (c *cluster) holders() []*node {
	var hs []*node
	for _, n := range c.balancers() {
		has, err := netns(n.ns, func() (bool, error) {
			ifc, err := net.InterfaceByName(c.iface)
			if err != nil {
				return false, err
			}
			addrs, err := ifc.Addrs()
			if err != nil {
				return false, err
			}
			for _, a := range addrs {
				if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr() == c.vip {
					return true, nil
				}
			}
			return false, nil
		})
		if err == nil && has {
			hs = append(hs, n)
		}
	}
	return hs
}

func names(ns []*node) string {
	if len(ns) == 0 {
		return "none"
	}
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = n.name
	}
	return strings.Join(s, "+")
}

// dumpLogs prints the end of every process log, for a failed run.
func (c *cluster) dumpLogs() {
	for _, n := range c.machines() {
		logs, _ := filepath.Glob(filepath.Join(n.dir, "*.log"))
		for _, l := range logs {
			data, _ := os.ReadFile(l)
			c.t.Logf("---- %s/%s (last lines)\n%s", n.name, filepath.Base(l), testkit.LastLines(string(data), 25))
		}
	}
}

// linkSet takes node n's cable out of the switch or puts it back.
func (c *cluster) linkSet(ctx context.Context, n *node, up bool) {
	state := "down"
	if up {
		state = "up"
	}
	run(c.t, ctx, "ip", "-n", c.sw, "link", "set", n.port, state)
}

// loadKubeconfig reads the generated admin kubeconfig as kubectl would: its current context.
func loadKubeconfig(path string) (*kubeconfig.Credentials, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return kubeconfig.Parse(data)
}

// summary is the JSON-able record of one failover run, kept next to the logs.
func writeJSON(path string, v any) {
	data, _ := json.MarshalIndent(v, "", "  ")
	_ = os.WriteFile(path, data, 0o644)
}
