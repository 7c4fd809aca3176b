//go:build boottest

package boottest

import (
	"fmt"
	"strings"
	"time"
)

// permanentFailure is a log line that no amount of waiting cures: the boot has failed, and the
// test says so at once instead of waiting for its timeout (a negative control then fails in
// seconds, and a real regression names its cause).
type permanentFailure struct {
	unit    string // the unit whose journal holds the line
	pattern string // fixed text of kubeadm's or the kubelet's message
	meaning string
}

var permanentFailures = []permanentFailure{
	{"kubeadm-join.service", "are pinned", "the CA hash pinned in the join config is not the cluster CA's: discovery will refuse the API server forever"},
	{"kubeadm-init.service", "error execution phase", "kubeadm init failed, and it never retries (a half-done init needs a person)"},
	// No registry answers here (the images come from the nodes' disks), so a pull never succeeds.
	{"kubelet.service", "ErrImagePull", "an image is not on the node's disk and no registry answers in the boot test"},
}

// permanentFailureCheckEvery bounds the cost: one journalctl per node and rule per interval.
const permanentFailureCheckEvery = 5 * time.Second

// findPermanentFailure returns a description of the first permanent failure on a running node, or "".
func findPermanentFailure(nodes []*node) string {
	for _, n := range nodes {
		if n.initPID() == 0 {
			continue
		}
		for _, f := range permanentFailures {
			out, err := n.exec(fmt.Sprintf("journalctl -u %s --no-pager -o cat | grep -F -m1 -e %s", f.unit, quoteAll([]string{f.pattern})[0]))
			if err == nil && strings.TrimSpace(out) != "" {
				return fmt.Sprintf("%s: %s: %s (%s)", n.name, f.unit, f.meaning, strings.TrimSpace(out))
			}
		}
	}
	return ""
}
