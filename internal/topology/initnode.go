package topology

import (
	"fmt"

	"github.com/ignigen/ignigen/internal/model"
)

// chooseInit marks the node that runs kubeadm init: the one marked, else the first node with an
// API server (a control-plane node); none when the cluster is initialised already.
func (v *validator) chooseInit(nodes []model.Node, marked []int, initialized bool) {
	cps := 0
	for _, n := range nodes {
		if n.Role.Spec().APIServer {
			cps++
		}
	}
	switch {
	case cps == 0:
		v.errorf("nodes", "give at least one node `role: "+string(initRoles()[0])+"`: it runs kube-apiserver and etcd", "the topology has no control-plane node")
		return
	case initialized:
		for _, i := range marked {
			v.errorf(fmt.Sprintf("nodes.%d.init", i), "remove `init: true`: with `cluster.initialized: true` every control-plane node joins the running cluster (or set initialized back to false for a cluster that was never booted)", "node %q is marked init, but the cluster is initialised already", nodes[i].Name)
		}
	case len(marked) > 1:
		for _, i := range marked[1:] {
			v.errorf(fmt.Sprintf("nodes.%d.init", i), fmt.Sprintf("exactly one node initialises the cluster: keep `init: true` on %q only", nodes[marked[0]].Name), "node %q is also marked init", nodes[i].Name)
		}
		return
	case len(marked) == 1:
		nodes[marked[0]].Init = true
	default:
		for i := range nodes {
			if nodes[i].Role.Spec().APIServer {
				nodes[i].Init = true
				break
			}
		}
	}
	if cps%2 == 0 {
		v.warnf("nodes", "use an odd number (1, 3 or 5): etcd needs a majority, so an even count tolerates no more failures than one node fewer", "%d control-plane nodes", cps)
	}
}
