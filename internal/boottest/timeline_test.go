//go:build boottest

package boottest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// monoNow is CLOCK_MONOTONIC in microseconds: the clock of systemd's *TimestampMonotonic
// properties in every node (one kernel, no time namespace).
func monoNow() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano() / 1000
}

// event is one step of a node's boot, seconds after its power-on.
type event struct {
	what string
	at   float64 // -1: not seen
}

// unitTime returns when a unit of the node reached the given state property (e.g.
// ActiveEnterTimestampMonotonic), in seconds after power-on; -1 if never.
func (n *node) unitTime(unit, prop string, poweredOnMono int64) float64 {
	out, err := n.exec("systemctl show -P " + prop + " " + unit)
	if err != nil {
		return -1
	}
	v, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil || v == 0 {
		return -1
	}
	return float64(v-poweredOnMono) / 1e6
}

func fmtAt(s float64) string {
	if s < 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fs", s)
}

// timeline prints per node: power-on → keepalived/HAProxy active → kubeadm done → Ready.
func timeline(nodes []*node, powerOnMono map[string]int64, ready map[string]time.Duration, clusterOn time.Time, allReady time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-13s %-9s %-11s %-11s %-13s %-9s\n", "node", "power-on", "keepalived", "haproxy", "kubeadm-done", "Ready")
	sorted := append([]*node(nil), nodes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].num < sorted[j].num })
	for _, n := range sorted {
		mono := powerOnMono[n.name]
		kubeadm := "kubeadm-join.service"
		if _, err := n.exec("test -e /etc/systemd/system/kubeadm-init.service"); err == nil {
			kubeadm = "kubeadm-init.service"
		}
		ka, hp := -1.0, -1.0
		if n.balances {
			ka = n.unitTime("keepalived.service", "ActiveEnterTimestampMonotonic", mono)
			hp = n.unitTime("haproxy.service", "ActiveEnterTimestampMonotonic", mono)
		}
		kd := -1.0
		if n.kube {
			kd = n.unitTime(kubeadm, "ActiveEnterTimestampMonotonic", mono)
		}
		r := -1.0
		if d, ok := ready[n.name]; ok {
			r = (d - n.poweredOn.Sub(clusterOn)).Seconds()
		}
		fmt.Fprintf(&b, "%-13s +%-8s %-11s %-11s %-13s %-9s\n", n.name, fmt.Sprintf("%.1fs", n.poweredOn.Sub(clusterOn).Seconds()), fmtAt(ka), fmtAt(hp), fmtAt(kd), fmtAt(r))
	}
	kube := 0
	for _, n := range nodes {
		if n.kube {
			kube++
		}
	}
	fmt.Fprintf(&b, "cluster: first power-on -> all %d Kubernetes nodes Ready: %.1fs\n", kube, allReady.Seconds())
	return b.String()
}
