package layers

import (
	"fmt"
	"net/netip"
	"slices"
)

// UpdateWindow is when the OS's update agent may reboot a node to finish an update (zincati's
// periodic strategy): one weekly window per slot, so that no two control-plane or VIP nodes
// ever reboot for an update at once.
type UpdateWindow struct {
	Slot          int    // the node's index among the cluster's slots
	Day           string // the weekday, as zincati reads it ("Mon")
	Start         string // "HH:MM" UTC
	LengthMinutes int
}

// UpdateWindowMinutes is how long a node's update window is open: zincati only starts the
// reboot inside it, and a reboot of an FCOS node takes minutes, not an hour.
const UpdateWindowMinutes = 60

// maxUpdateSlots bounds the slots whose windows are proven disjoint and at least an hour apart
// (TestUpdateWindows); a cluster with more control-plane and VIP addresses is refused.
const maxUpdateSlots = 31

var weekdays = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// updateWindow is the weekly update window of the node at ip: its slot (model.Cluster.Slots,
// address order) picks the weekday (slot mod 7), and the window opens an hour after the slot's
// daily certificate check (renewSchedule), so (up to eight slots) a node's reboot never meets
// another node's certificate restarts; adding a node at a reserved address moves no running
// node's window.
func updateWindow(slots []netip.Addr, ip netip.Addr) (*UpdateWindow, error) {
	slot := slices.Index(slots, ip)
	if slot < 0 {
		return nil, fmt.Errorf("update window: %s is not a control-plane or VIP slot", ip)
	}
	if slot >= maxUpdateSlots {
		return nil, fmt.Errorf("update window: slot %d of %s is beyond the %d slots whose reboot windows are disjoint", slot, ip, maxUpdateSlots)
	}
	start := weekMinute(slot)
	return &UpdateWindow{Slot: slot, Day: weekdays[start/1440], Start: fmt.Sprintf("%02d:%02d", start%1440/60, start%60), LengthMinutes: UpdateWindowMinutes}, nil
}

// weekMinute is the minute of the week (Monday 00:00 UTC = 0) the slot's window opens.
func weekMinute(slot int) int {
	return ((slot%7)*1440 + renewMinute(slot) + 60) % (7 * 1440)
}
