package layers

import (
	"fmt"
	"net/netip"
	"slices"
)

// RenewMarginDays is how long before expiry renew-certs renews a kubeadm certificate: three
// months leaves room for about 90 daily attempts before anything lapses.
const RenewMarginDays = 90

// RenewStaggerSeconds is how long renew-certs.service waits per slot before it starts: a timer
// with Persistent=true runs a missed check at boot, and after a cluster-wide outage every node
// would otherwise start its catch-up run (and its restarts) at the same moment.
const RenewStaggerSeconds = 600

// renewSchedule is the time of day (UTC, "HH:MM") at which the control-plane node at ip checks
// its certificates: the node's index among the cluster's slots (model.Cluster.Slots: present and
// reserved control-plane and VIP addresses, in address order) times 3 hours from 02:00, so no two
// nodes restart their API servers and etcd members in the same window. Slots are ordered by
// address, so adding a node at a reserved address moves no running node's time. Beyond eight
// slots a day has no free 3-hour window left: each further lap is shifted 20 minutes.
func renewSchedule(slots []netip.Addr, ip netip.Addr) (slot int, hhmm string, err error) {
	slot = slices.Index(slots, ip)
	if slot < 0 {
		return 0, "", fmt.Errorf("renewal schedule: %s is not a control-plane slot", ip)
	}
	minutes := renewMinute(slot)
	return slot, fmt.Sprintf("%02d:%02d", minutes/60, minutes%60), nil
}

// renewMinute is the minute of the day (UTC) at which slot checks its certificates.
func renewMinute(slot int) int { return (2*60 + slot*180 + (slot/8)*20) % (24 * 60) }
