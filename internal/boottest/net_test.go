//go:build boottest

package boottest

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The node network: netns bt-lan holds bridge br0 with the topology's gateway address; each node
// gets netns bt-NODE with a veth named after the topology's interface, with the node's MAC; the
// client (kubectl with admin.kubeconfig) lives in netns bt-client.
const (
	lanNS    = netnsPrefix + "lan"
	clientNS = netnsPrefix + "client"
)

func nodeNS(name string) string { return netnsPrefix + name }

// makeLAN creates the bridge namespace and the client namespace (client address clientIP/bits).
func makeLAN(t testing.TB, gatewayCIDR, clientCIDR string) {
	sh(t, `ip netns add %[1]s
ip -n %[1]s link set lo up
ip -n %[1]s link add br0 type bridge
ip -n %[1]s link set br0 up
ip -n %[1]s addr add %[2]s dev br0
ip netns add %[3]s
ip -n %[3]s link set lo up
ip -n %[1]s link add p-client type veth peer name eth0 netns %[3]s
ip -n %[1]s link set p-client master br0 up
ip -n %[3]s addr add %[4]s dev eth0
ip -n %[3]s link set eth0 up`, lanNS, gatewayCIDR, clientNS, clientCIDR)
}

// makeNodeNet creates a node's namespace with its interface (down: networkd brings it up) on the
// bridge. port is the bridge-side name.
func makeNodeNet(t testing.TB, n *node, iface string) {
	sh(t, `ip netns add %[1]s
ip -n %[1]s link set lo up
ip -n %[2]s link add %[3]s type veth peer name %[4]s netns %[1]s
ip -n %[1]s link set %[4]s address %[5]s
ip -n %[2]s link set %[3]s master br0 up`, nodeNS(n.name), lanNS, n.port, iface, n.mac)
}

// setPort takes a node's bridge port up or down: its link, as a cable.
func setPort(t testing.TB, n *node, up bool) {
	state := "down"
	if up {
		state = "up"
	}
	sh(t, "ip -n %s link set %s %s", lanNS, n.port, state)
}

// applyNetSysctls applies the net.* settings of the node's /etc/sysctl.d files to its
// namespace: /proc/sys is read-only inside a node, so systemd-sysctl skips them there, and the
// other (kernel-wide) keys are the machine's, not the node's.
func applyNetSysctls(t testing.TB, n *node) []string {
	var applied []string
	files, _ := filepath.Glob(filepath.Join(n.root, "etc/sysctl.d/*.conf"))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		s := bufio.NewScanner(fh)
		for s.Scan() {
			line := strings.TrimSpace(s.Text())
			if line == "" || line[0] == '#' || line[0] == ';' {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if !ok || !strings.HasPrefix(k, "net.") {
				continue
			}
			sh(t, "ip netns exec %s sysctl -q -w %s=%s", nodeNS(n.name), k, v)
			applied = append(applied, k+"="+v)
		}
		fh.Close()
	}
	return applied
}
