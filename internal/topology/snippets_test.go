package topology

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/model"
)

func TestSnippets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	write("ntp.bu", "variant: flatcar\nversion: 1.1.0\nstorage:\n  files:\n    - path: /etc/systemd/timesyncd.conf\n      contents:\n        inline: \"[Time]\\nNTP=10.0.0.1\\n\"\n")
	write("typo.bu", "variant: flatcar\nversion: 1.1.0\nstorage:\n  filez: []\n")
	write("fcos16.bu", "variant: fcos\nversion: 1.6.0\n")
	base := strings.Replace(string(Example), "\nnodes:", "\nsnippets:\nSNIPPETS\nnodes:", 1)
	cases := []struct {
		name, snippets, want string
	}{
		{"ok", "  - {file: ntp.bu, roles: [worker], nodes: [node4-worker]}", ""},
		{"missing file", "  - {file: nope.bu}", "cannot read snippet"},
		{"unused key", "  - {file: typo.bu}", "snippet typo.bu: 4:3: warning: unused key filez"},
		{"wrong ignition version", "  - {file: fcos16.bu}", "must translate to Ignition 3.4.0"},
		{"unknown node", "  - {file: ntp.bu, nodes: [node9]}", `no node is called "node9"`},
		{"unknown role", "  - {file: ntp.bu, roles: [etcd]}", `unknown role "etcd"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(base, "SNIPPETS", tc.snippets, 1)
			c, r, err := Parse(filepath.Join(dir, "topology.yaml"), []byte(src))
			if tc.want == "" {
				require.NoError(t, err, r.String())
				require.Len(t, c.Snippets, 1)
				s := c.Snippets[0]
				assert.Contains(t, string(s.Source), "timesyncd")
				assert.True(t, s.AppliesTo(c.Nodes[3]))
				assert.False(t, s.AppliesTo(c.Nodes[4]), "another worker")
				assert.False(t, s.AppliesTo(model.Node{Name: "node4-worker", Role: model.ControlPlane}))
				return
			}
			require.Error(t, err)
			assert.Contains(t, r.String(), tc.want)
			assert.Contains(t, r.String(), "(snippets.0.")
		})
	}
}
