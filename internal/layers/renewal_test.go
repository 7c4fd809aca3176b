package layers

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRenewSchedule(t *testing.T) {
	slots := func(n int) []netip.Addr {
		var out []netip.Addr
		a := netip.MustParseAddr("10.0.0.10")
		for range n {
			out = append(out, a)
			a = a.Next()
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		slots []netip.Addr
		ip    string
		slot  int
		at    string
	}{
		{"first", slots(3), "10.0.0.10", 0, "02:00"},
		{"second", slots(3), "10.0.0.11", 1, "05:00"},
		{"third", slots(3), "10.0.0.12", 2, "08:00"},
		{"eighth wraps the day", slots(9), "10.0.0.17", 7, "23:00"},
		{"ninth starts a shifted lap", slots(9), "10.0.0.18", 8, "02:20"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slot, at, err := renewSchedule(tc.slots, netip.MustParseAddr(tc.ip))
			require.NoError(t, err)
			require.Equal(t, tc.slot, slot)
			require.Equal(t, tc.at, at)
		})
	}
	_, _, err := renewSchedule(slots(3), netip.MustParseAddr("10.0.0.99"))
	require.ErrorContains(t, err, "not a control-plane slot")
}

// No two of many slots share a minute of the day.
func TestRenewScheduleDistinct(t *testing.T) {
	var slots []netip.Addr
	a := netip.MustParseAddr("10.0.0.1")
	for range 64 {
		slots = append(slots, a)
		a = a.Next()
	}
	seen := map[string]int{}
	for i, ip := range slots {
		_, at, err := renewSchedule(slots, ip)
		require.NoError(t, err)
		prev, dup := seen[at]
		require.False(t, dup, "slots %d and %d both at %s", prev, i, at)
		seen[at] = i
	}
}
