package layers

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUpdateWindows proves what the zincati windows promise for every slot count up to the
// bound: no two windows overlap, and between the end of one and the start of the next there is
// at least an hour (a reboot started at a window's last minute is over before the next opens).
func TestUpdateWindows(t *testing.T) {
	for a := range maxUpdateSlots {
		for b := range a {
			d := (weekMinute(a) - weekMinute(b) + 7*1440) % (7 * 1440)
			gap := min(d, 7*1440-d) - UpdateWindowMinutes
			assert.GreaterOrEqual(t, gap, 60, "slots %d and %d: windows at week minutes %d and %d", a, b, weekMinute(a), weekMinute(b))
		}
	}
	var slots []netip.Addr
	for i := range maxUpdateSlots + 1 {
		slots = append(slots, netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}))
	}
	w, err := updateWindow(slots, slots[0])
	require.NoError(t, err)
	assert.Equal(t, UpdateWindow{Slot: 0, Day: "Mon", Start: "03:00", LengthMinutes: 60}, *w)
	w, err = updateWindow(slots, slots[1])
	require.NoError(t, err)
	assert.Equal(t, UpdateWindow{Slot: 1, Day: "Tue", Start: "06:00", LengthMinutes: 60}, *w)
	_, err = updateWindow(slots, slots[maxUpdateSlots])
	assert.ErrorContains(t, err, "beyond")
	_, err = updateWindow(slots, netip.MustParseAddr("10.9.9.9"))
	assert.Error(t, err)
}
