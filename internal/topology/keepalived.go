package topology

import (
	"hash/fnv"

	"github.com/ignigen/ignigen/internal/model"
)

// routerID derives a stable VRRP router ID from the cluster name, so two clusters on one
// segment rarely collide without anyone choosing numbers.
func routerID(name string) int {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int(h.Sum32()%255) + 1
}

// assignPriorities gives keepalived's base priority: the init node 200, the others spread evenly from
// 150 down to 50 in file order. Wide steps matter: a backup's VRRPv3 takeover delay is skewed by
// (256-priority)/256 of an advert interval, and nearly equal priorities let two backups time out
// together and both claim the VIP for a moment.
func assignPriorities(nodes []model.Node) {
	others := 0
	for _, n := range nodes {
		if n.Role == model.ControlPlane && !n.Init {
			others++
		}
	}
	step := 100
	if others > 1 {
		step = max(1, 100/(others-1))
	}
	next := 150
	for i := range nodes {
		switch {
		case nodes[i].Role != model.ControlPlane:
		case nodes[i].Init:
			nodes[i].Priority = 200
		default:
			nodes[i].Priority = max(1, next)
			next -= step
		}
	}
}
