package cli

import (
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	exampleVIPLine = "  vip: 192.168.122.30         # floats between control-plane nodes (keepalived)\n"
	lastNode       = "  - {name: node5-worker, role: worker, ip: 192.168.122.35, mac: \"52:54:00:00:00:35\"}\n"
	reserve36      = exampleVIPLine + "  reservedIPs: [192.168.122.36]\n"
)

// TestRebuildAgainstRunningCluster: a rebuild into the same output directory (same secrets) is
// compared with the previous build's manifest. Changes the running nodes absorb build and say
// per node what to do; the others are refused at their field, leaving the output as it was,
// unless --allow-membership-change.
func TestRebuildAgainstRunningCluster(t *testing.T) {
	for _, tc := range []struct {
		name        string
		first, next []string // writeTopology edits
		allow       bool
		refusedAt   string // regexp of the located error; empty: builds
		table       []string
	}{
		{name: "worker added", first: nil, next: []string{lastNode, lastNode + "  - {name: node6-worker, role: worker, ip: 192.168.122.37}\n"},
			table: []string{`node1-cp\s+control-plane\s+unchanged\s+nothing`, `node5-worker\s+worker\s+unchanged`, `node6-worker\s+worker\s+added\s+boot it from node6-worker.ign`}},
		{name: "control-plane node at a reserved address", first: []string{exampleVIPLine, reserve36},
			next:  []string{lastNode, lastNode + "  - {name: node6-cp, role: control-plane, ip: 192.168.122.36}\n"},
			table: []string{`node1-cp\s+control-plane\s+unchanged`, `node3-cp\s+control-plane\s+unchanged`, `node6-cp\s+control-plane\s+added`}},
		{name: "control-plane node outside the reserved set", first: []string{exampleVIPLine, reserve36},
			next:      []string{exampleVIPLine, reserve36, lastNode, lastNode + "  - {name: node6-cp, role: control-plane, ip: 192.168.122.38}\n"},
			refusedAt: `topology.yaml:71:47: error: node "node6-cp" would hold the VIP at 192.168.122.38, which the running VIP holders do not list as a VRRP peer.*\(nodes.5.ip\)`},
		{name: "a reserved address dropped moves priorities", first: []string{exampleVIPLine, exampleVIPLine + "  reservedIPs: [192.168.122.2]\n"},
			next:      nil,
			refusedAt: `topology.yaml:65:5: error: node "node1-cp"'s keepalived priority changes from 150 to 200.*\(nodes.0\)`},
		{name: "VIP moved", next: []string{"vip: 192.168.122.30", "vip: 192.168.122.29"},
			refusedAt: `topology.yaml:25:8: error: the VIP changes from 192.168.122.30 to 192.168.122.29.*\(controlPlane.vip\)`},
		{name: "outside the reserved set, allowed", first: []string{exampleVIPLine, reserve36},
			next:  []string{exampleVIPLine, reserve36, lastNode, lastNode + "  - {name: node6-cp, role: control-plane, ip: 192.168.122.38}\n"},
			allow: true, table: []string{`node1-cp\s+control-plane\s+changed\s+a running node keeps its first-boot config`, `node6-cp\s+control-plane\s+added`}},
		{name: "worker moved: what changed in its config", next: []string{"ip: 192.168.122.35", "ip: 192.168.122.37"},
			table: []string{`node4-worker\s+worker\s+unchanged`, `node5-worker\s+worker\s+changed`,
				`\n  node5-worker: changed file /etc/systemd/network/00-eth0.network, unit kubelet.service\n`}},
		{name: "node removed", next: []string{lastNode, ""},
			table: []string{`node4-worker\s+worker\s+unchanged`, `node5-worker\s+worker\s+removed\s+drain it, shut it down`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			first := writeTopology(t, dir, "first.yaml", tc.first...)
			require.Equal(t, ExitOK, run("build", first, "-o", out).code)
			before := tree(t, out)
			writeTopology(t, dir, "topology.yaml", tc.next...)
			args := []string{"build", "topology.yaml", "-o", out}
			if tc.allow {
				args = append(args, "--allow-membership-change")
			}
			t.Chdir(dir)
			res := run(args...)
			if tc.refusedAt != "" {
				assert.Equal(t, ExitFailed, res.code, res.stderr)
				assert.Regexp(t, regexp.MustCompile(tc.refusedAt), res.stderr)
				assert.Contains(t, res.stderr, "nothing was changed")
				assert.Equal(t, before, tree(t, out), "a refused rebuild leaves the output as it was")
				return
			}
			require.Equal(t, ExitOK, res.code, res.stderr)
			assert.Contains(t, res.stdout, "changes since the previous build:")
			for _, row := range tc.table {
				assert.Regexp(t, regexp.MustCompile(row), res.stdout)
			}
		})
	}
}

// TestRebuildWithOtherSecretsIsANewCluster: another bundle means another cluster; nothing of the
// previous one constrains it.
func TestRebuildWithOtherSecretsIsANewCluster(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	topo := writeTopology(t, dir, "topology.yaml")
	first, other := filepath.Join(dir, "first.yaml"), filepath.Join(dir, "other.yaml")
	require.Equal(t, ExitOK, run("secrets", "create", first).code)
	require.Equal(t, ExitOK, run("secrets", "create", other).code)
	require.Equal(t, ExitOK, run("build", topo, "-o", out, "--secrets", first).code)
	moved := writeTopology(t, dir, "moved.yaml", "vip: 192.168.122.30", "vip: 192.168.122.29")
	res := run("build", moved, "-o", out, "--secrets", other)
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Contains(t, res.stdout, "new cluster")
}

// TestDryRun: `build --dry-run` says what a build would change or refuse, and writes nothing.
func TestDryRun(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	t.Chdir(dir)
	first := writeTopology(t, dir, "first.yaml")
	res := run("build", first, "-o", out, "--dry-run")
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Contains(t, res.stdout, "a build would be the first in "+out+": a new secrets bundle, 5 nodes to boot")
	assert.NoDirExists(t, out, "a dry run creates no output directory")

	require.Equal(t, ExitOK, run("build", first, "-o", out).code)
	before := tree(t, out)
	for _, tc := range []struct {
		name, from, to string
		code           int
		want           string
	}{
		{"worker moved", "ip: 192.168.122.35", "ip: 192.168.122.37", ExitOK, "\n  node5-worker: changed file /etc/systemd/network/00-eth0.network"},
		{"VIP moved: refused", "vip: 192.168.122.30", "vip: 192.168.122.29", ExitFailed, "the VIP changes from 192.168.122.30 to 192.168.122.29"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topo := writeTopology(t, dir, "topology.yaml", tc.from, tc.to)
			res := run("build", topo, "-o", out, "--dry-run")
			assert.Equal(t, tc.code, res.code, res.stderr)
			assert.Contains(t, res.stdout+res.stderr, tc.want)
			assert.Equal(t, before, tree(t, out), "a dry run leaves the output as it was")
		})
	}
}
