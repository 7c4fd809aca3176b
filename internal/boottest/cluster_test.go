//go:build boottest

package boottest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/testkit"
	"github.com/ignigen/ignigen/internal/topology"
)

// bootTools are the cached tools (scripts/tools.sh) a boot needs.
var bootTools = []string{"ignition", "kubeadm", "kubelet", "kubectl", "etcd", "etcdctl",
	"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "coredns",
	"pause", "podman", "quadlet", "cni-plugins", "imagewriter", "debroot"}

// cluster is the example cluster made ready to boot: configs built, roots made by Ignition,
// images on every node's disk, the network in place. Nothing is running yet.
type cluster struct {
	model      *model.Cluster
	out        string // ignigen build output
	kubeconfig string // the generated admin.kubeconfig, unchanged
	tools      map[string]string
	nodes      []*node
	// powerOnMono: CLOCK_MONOTONIC (µs) of each node's last power-on.
	powerOnMono map[string]int64
	// lower, ctrdStore and podStore are what a node's disk is made from (re-provisioning).
	lower, ctrdStore, podStore string
	// writers counts startWriter calls; acked is every write any of them had acknowledged.
	writers int
	acked   []string
}

// dropImage: an image left out of every node's store (a negative control).
var dropImage string

// breakFunc changes a node's substituted config for a negative control (nil: none).
type breakFunc func(t testing.TB, n *node, cfg []byte) []byte

// newCluster prepares everything up to power-on. It cleans a previous (possibly killed) run
// first and registers the cleanup of this one for success, failure and interruption.
func newCluster(t *testing.T, brk breakFunc) *cluster {
	return newClusterFrom(t, topology.Example, brk)
}

// newClusterFrom is newCluster for the topology src (the example, or testdata/external-lb).
func newClusterFrom(t *testing.T, topoSrc []byte, brk breakFunc) *cluster {
	if os.Geteuid() != 0 {
		t.Fatal("boottest: needs root (make boot-test)")
	}
	cleanAll()
	if os.Getenv("BOOTTEST_KEEP") == "" {
		t.Cleanup(cleanAll)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sig
		logf("%v: cleaning up", s)
		cleanAll()
		os.Exit(1)
	}()
	t.Cleanup(func() { signal.Stop(sig) })
	os.MkdirAll(stateDir, 0o755)

	c := &cluster{tools: map[string]string{}}
	for _, name := range bootTools {
		c.tools[name] = testkit.Tool(t, name)
	}
	sysext := testkit.ServeSysext(t)
	src, err := TestTopology(topoSrc, sysext.URL)
	if err != nil {
		t.Fatal(err)
	}
	topo := filepath.Join(stateDir, "topology.yaml")
	os.WriteFile(topo, src, 0o644)
	m, r, err := topology.Parse(topo, src)
	if err != nil {
		t.Fatalf("%v\n%s", err, r.String())
	}
	c.model = m
	c.out, _ = testkit.Build(t, topo, "")
	c.kubeconfig = filepath.Join(c.out, "admin.kubeconfig")

	// inotify: five nodes use most of the machine-wide 128 instances; put it back afterwards.
	if old, err := os.ReadFile(inotifyKnob); err == nil {
		os.WriteFile(inotifySaved, old, 0o644)
		os.WriteFile(inotifyKnob, []byte("1024\n"), 0o644)
	}

	only := os.Getenv("BOOTTEST_NODES") // debugging: boot a subset
	for i, mn := range m.Nodes {
		if only != "" && !strings.Contains(","+only+",", ","+mn.Name+",") {
			continue
		}
		n := &node{name: mn.Name, ip: mn.IP.String(), mac: mn.MAC, role: string(mn.Role), num: i + 1,
			kube: mn.Role.Spec().Kubernetes, balances: mn.Role.Balances(m.ExternalLB),
			port: fmt.Sprintf("p-%d", i+1), dir: filepath.Join(stateDir, "nodes", mn.Name)}
		n.root = filepath.Join(n.dir, "root")
		os.MkdirAll(n.dir, 0o755)
		raw, err := os.ReadFile(filepath.Join(c.out, mn.Name+".ign"))
		if err != nil {
			t.Fatal(err)
		}
		sub, err := Substitute(raw, n.num)
		if err != nil {
			t.Fatal(err)
		}
		if brk != nil {
			sub = brk(t, n, sub)
		}
		n.ign = filepath.Join(n.dir, "config.ign")
		os.WriteFile(n.ign, sub, 0o644)
		c.nodes = append(c.nodes, n)
	}

	start := time.Now()
	var initCfg string
	// kubeadm's image list comes from the init node's own configuration (as Ignition writes it).
	base := filepath.Join(stateDir, "base")
	lower := prepareBase(t, c.tools, c.tools["debroot"], base)
	logf("base root ready (%.0fs)", time.Since(start).Seconds())
	for _, n := range c.nodes {
		makeRoot(t, c.tools["ignition"], lower, n)
		if n.name == c.initNode().Name {
			initCfg = filepath.Join(n.root, InitConfigPath)
		}
	}
	logf("node roots made by Ignition (%.0fs)", time.Since(start).Seconds())
	if initCfg == "" {
		initCfg = filepath.Join(stateDir, "init.yaml")
		os.WriteFile(initCfg, []byte("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: "+m.Kubernetes.Version+"\n"), 0o644)
	}
	ctrImgs := clusterImages(t, c.tools, c.tools["debroot"], initCfg)
	if dropImage != "" { // a negative control
		var kept []image
		for _, img := range ctrImgs {
			if !strings.Contains(img.refs[0], "/"+dropImage+":") {
				kept = append(kept, img)
			}
		}
		if len(kept) == len(ctrImgs) {
			t.Fatalf("boottest: no image %s to leave out", dropImage)
		}
		ctrImgs = kept
	}
	podImgs := podmanImages(m.Images.Keepalived, m.Images.HAProxy, c.tools["debroot"])
	writeImages(t, c.tools["imagewriter"], ctrImgs)
	writeImages(t, c.tools["imagewriter"], podImgs)
	logf("images written (%.0fs)", time.Since(start).Seconds())
	ctrdTmpl := containerdTemplate(t, c.tools["debroot"], ctrImgs)
	podTmpl := podmanTemplate(t, c.tools["podman"], c.tools["debroot"], podImgs)
	logf("image stores ready (%.0fs)", time.Since(start).Seconds())

	bits := m.Network.CIDR.Bits()
	client := m.Network.CIDR.Addr().As4()
	client[3] = 10
	makeLAN(t, fmt.Sprintf("%s/%d", m.Network.Gateway, bits), fmt.Sprintf("%d.%d.%d.%d/%d", client[0], client[1], client[2], client[3], bits))
	for _, n := range c.nodes {
		// Each store only where the node's role runs it: containerd under kubelet, podman's
		// under the keepalived and HAProxy Quadlet units.
		if n.kube {
			linkCopy(t, ctrdTmpl, n.dir+"/containerd")
		}
		if n.balances {
			linkCopy(t, podTmpl, n.dir+"/containers")
		}
		makeNodeNet(t, n, m.Network.Interface)
		applyNetSysctls(t, n)
	}
	c.lower, c.ctrdStore, c.podStore = lower, ctrdTmpl, podTmpl
	logf("nodes ready to power on (%.0fs)", time.Since(start).Seconds())
	return c
}

func (c *cluster) initNode() model.Node {
	for _, n := range c.model.Nodes {
		if n.Init {
			return n
		}
	}
	return c.model.Nodes[0]
}

// kubectl runs the cached kubectl from the client namespace with the generated admin.kubeconfig.
func (c *cluster) kubectl(args string) (string, error) {
	return shErr("ip netns exec %s %s --kubeconfig %s --request-timeout=5s %s", clientNS, c.tools["kubectl"], c.kubeconfig, args)
}

// kubeNodes are the nodes that run kubelet and so become Kubernetes Nodes.
func (c *cluster) kubeNodes() []*node {
	var out []*node
	for _, n := range c.nodes {
		if n.kube {
			out = append(out, n)
		}
	}
	return out
}

// readyNodes returns the nodes whose Ready condition is True.
func (c *cluster) readyNodes() map[string]bool {
	out, err := c.kubectl("get nodes -o json")
	ready := map[string]bool{}
	if err != nil {
		return ready
	}
	var list struct {
		Items []struct {
			Metadata struct{ Name string }
			Status   struct {
				Conditions []struct{ Type, Status string }
			}
		}
	}
	if json.Unmarshal([]byte(out), &list) != nil {
		return ready
	}
	for _, it := range list.Items {
		for _, cond := range it.Status.Conditions {
			if cond.Type == "Ready" && cond.Status == "True" {
				ready[it.Metadata.Name] = true
			}
		}
	}
	return ready
}

// linkCopy gives a node its own image store from a template: hard links for what is never
// written in place (content blobs, unpacked layers; JSON indexes are replaced by rename), real
// copies of the databases and lock files that are.
func linkCopy(t testing.TB, src, dst string) {
	sh(t, `cp -al %[1]s/. %[2]s/
cd %[1]s && find . -type f \( -name '*.db' -o -name '*.lock' -o -name '*.sql' \) -print0 |
  while IFS= read -r -d '' f; do cp -a --remove-destination "$f" "%[2]s/$f"; done`, src, dst)
}
