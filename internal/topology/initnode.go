package topology

import (
	"fmt"

	"github.com/ignigen/ignigen/internal/model"
)

// chooseInit marks the node that runs kubeadm init: the one marked, else the first control plane.
func (v *validator) chooseInit(nodes []model.Node, marked []int) {
	cps := 0
	for _, n := range nodes {
		if n.Role == model.ControlPlane {
			cps++
		}
	}
	switch {
	case cps == 0:
		v.errorf("nodes", "give at least one node `role: control-plane`", "the topology has no control-plane node")
		return
	case len(marked) > 1:
		for _, i := range marked[1:] {
			v.errorf(fmt.Sprintf("nodes.%d.init", i), fmt.Sprintf("exactly one node initialises the cluster: keep `init: true` on %q only", nodes[marked[0]].Name), "node %q is also marked init", nodes[i].Name)
		}
		return
	case len(marked) == 1:
		nodes[marked[0]].Init = true
	default:
		for i := range nodes {
			if nodes[i].Role == model.ControlPlane {
				nodes[i].Init = true
				break
			}
		}
	}
	if cps%2 == 0 {
		v.warnf("nodes", "use an odd number (1, 3 or 5): etcd needs a majority, so an even count tolerates no more failures than one node fewer", "%d control-plane nodes", cps)
	}
}
