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
	write("fcos15.bu", "# Fedora CoreOS sugar: Ignition 3.4.0 too\nvariant: fcos\nversion: 1.5.0\n")
	write("flatcar10.bu", "variant: flatcar\nversion: 1.0.0\n")
	write("unclosed.bu", "variant: flatcar\nversion: 1.1.0\nstorage:\n  files: [{path: /etc/x}\n")
	write("syntax.bu", "variant: flatcar\nversion: 1.1.0\nstorage:\n  files:\n  - path: /etc/x\n     mode: 0644\n")
	write("type.bu", "variant: flatcar\nversion: 1.1.0\nstorage:\n  files:\n    - path: /etc/x\n      mode: abc\n")
	base := strings.Replace(string(Example), "\nnodes:", "\nsnippets:\nSNIPPETS\nnodes:", 1)
	cases := []struct {
		name, snippets, want string
	}{
		{"ok", "  - {file: ntp.bu, roles: [worker], nodes: [node4-worker]}", ""},
		{"missing file", "  - {file: nope.bu}", "cannot read snippet"},
		{"unused key", "  - {file: typo.bu}", "/typo.bu:4:3: error: unused key filez (Butane warning)"},
		{"wrong ignition version", "  - {file: fcos16.bu}", "/fcos16.bu:1:10: error: Butane fcos 1.6.0 is not the cluster profile's flatcar 1.1.0; write `variant: flatcar` and `version: 1.1.0`"},
		{"same ignition version, other variant", "  - {file: fcos15.bu}", "/fcos15.bu:2:10: error: Butane fcos 1.5.0 is not the cluster profile's flatcar 1.1.0"},
		{"other version of the variant", "  - {file: flatcar10.bu}", "/flatcar10.bu:1:10: error: Butane flatcar 1.0.0 is not the cluster profile's flatcar 1.1.0"},
		// yaml.v3 names line 3 (counted from 0) for the bracket opened on line 4.
		{"syntax error, 1-based", "  - {file: unclosed.bu}", "/unclosed.bu:4:10: error: invalid YAML: did not find expected ',' or ']'"},
		{"syntax error at its column", "  - {file: syntax.bu}", "/syntax.bu:6:6: error: invalid YAML: mapping values are not allowed in this context"},
		{"type error, one line with a column", "  - {file: type.bu}", "/type.bu:6:13: error: cannot unmarshal !!str `abc` into int; give a value of the type"},
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
