package topology

import (
	"regexp"
	"strings"
	"testing"
)

// Each bounded pattern accepts exactly what its counted-repetition original accepted.
func TestBoundedMatchesCounted(t *testing.T) {
	for _, tc := range []struct {
		b        boundedRE
		original string
	}{
		{libvirtNetRE, `^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$`},
		{imageTagRE, `^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`},
		{imageDigestRE, `^sha256:[a-f0-9]{64}$`},
		{dnsLabelRE, `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`},
		{ifaceRE, `^[A-Za-z0-9_.:-]{1,15}$`},
		{sha256RE, `^[a-f0-9]{64}$`},
	} {
		re := regexp.MustCompile(tc.original)
		var inputs []string
		for _, unit := range []string{"a", "A", "0", "-", ".", "_", "+", ":", "é", " ", "sha256:", "f"} {
			for n := 0; n <= 130; n++ {
				s := strings.Repeat(unit, n)
				inputs = append(inputs, s, "a"+s, s+"a", "sha256:"+s, "a"+s+"-", "0"+s+"0")
			}
		}
		for _, s := range inputs {
			if got, want := tc.b.MatchString(s), re.MatchString(s); got != want {
				t.Errorf("%s: %q: bounded %v, original %v", tc.original, s, got, want)
			}
		}
	}
}
