package serve

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRequests(t *testing.T) {
	s, dir := newServer(t, io.Discard)
	h := s.Handler()
	for _, tc := range []struct {
		target string
		status int
		body   string // exact body, or "~" + fragment
	}{
		{"/ignition?mac=52:54:00:00:00:11", 200, config(t, dir, "cp1")},
		{"/ignition?mac=52-54-00-00-00-11", 200, config(t, dir, "cp1")},
		{"/ignition?mac=52-54-00-00-00-21", 200, config(t, dir, "w1")},
		{"/ignition?name=w1", 200, config(t, dir, "w1")},
		{"/ignition?name=w2", 200, config(t, dir, "w2")},
		{"/ignition?mac=52-54-00-00-00-21&name=w1", 200, config(t, dir, "w1")},
		{"/ignition?name=cp1", 403, "~served only by MAC"},
		{"/ignition?mac=52-54-00-00-00-21&name=cp1", 404, "~belongs to node w1"},
		{"/ignition?mac=52-54-00-00-00-99", 404, "~has MAC 52:54:00:00:00:99"},
		{"/ignition?mac=bogus", 400, "~not a MAC"},
		{"/ignition?name=nope", 404, "~no node \"nope\""},
		{"/ignition", 400, "~give ?mac="},
		{"/ipxe?mac=52-54-00-00-00-99", 404, "~has MAC 52:54:00:00:00:99"},
		{"/ipxe?mac=52-54-00-00-00-21", 200, "#!ipxe\n# ignigen: node w1 (worker) of cluster demo\n" +
			"kernel http://10.0.2.2:8080/assets/vmlinuz initrd=initrd.img initrd=extra.cpio flatcar.first_boot=1 ignition.config.url=http://10.0.2.2:8080/ignition?mac=52-54-00-00-00-21 console=ttyS0\n" +
			"initrd http://10.0.2.2:8080/assets/initrd.img\ninitrd http://mirror/extra.cpio\nboot\n"},
		{"/healthz", 200, "ok: cluster demo, 3 node(s)\n"},
		{"/assets/vmlinuz", 200, "KERNEL"},
		{"/assets/missing", 404, "~not found"},
		{"/", 404, "~not found"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			w := get(h, tc.target)
			assert.Equal(t, tc.status, w.Code, w.Body.String())
			if f, ok := strings.CutPrefix(tc.body, "~"); ok {
				assert.Contains(t, w.Body.String(), f)
				assert.NotContains(t, w.Body.String(), `"ignition"`, "an error never carries a config")
			} else {
				assert.Equal(t, tc.body, w.Body.String())
			}
		})
	}
}

func TestParseMAC(t *testing.T) {
	for in, want := range map[string]string{"52-54-00-AB-cd-01": "52:54:00:ab:cd:01", "52:54:00:ab:cd:01": "52:54:00:ab:cd:01", "x": "", "01:02:03:04:05:06:07:08": ""} {
		got, err := ParseMAC(in)
		assert.Equal(t, want, got, in)
		assert.Equal(t, want == "", err != nil, in)
	}
}
