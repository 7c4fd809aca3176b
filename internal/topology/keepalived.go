package topology

import (
	"hash/fnv"
	"slices"

	"github.com/ignigen/ignigen/internal/model"
)

// routerID derives a stable VRRP router ID from the cluster name, so two clusters on one
// segment rarely collide without anyone choosing numbers.
func routerID(name string) int {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int(h.Sum32()%255) + 1
}

// assignPriorities gives keepalived's base priority to the nodes that hold the VIP, ranked by
// address over the cluster's slots (present and reserved members, model.Cluster.Slots): the lowest
// 200, the others spread evenly from 150 down to 50. Ranking by address, not file order, keeps a
// running node's priority when a node is added at a reserved address. Wide steps matter: a
// backup's VRRPv3 takeover delay is skewed by (256-priority)/256 of an advert interval, and nearly
// equal priorities let two backups time out together and both claim the VIP for a moment.
func assignPriorities(c *model.Cluster) {
	slots := c.Slots()
	step := 100
	if len(slots) > 2 {
		step = max(1, 100/(len(slots)-2))
	}
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if !n.Role.Balances(c.ExternalLB) {
			continue
		}
		switch r := slices.Index(slots, n.IP); r {
		case 0:
			n.Priority = 200
		default:
			n.Priority = max(1, 150-(r-1)*step)
		}
	}
}
