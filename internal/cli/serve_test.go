package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/topology"
)

func TestServeRearm(t *testing.T) {
	dir := t.TempDir()
	topo := filepath.Join(dir, "topology.yaml")
	require.NoError(t, os.WriteFile(topo, topology.Example, 0o644))
	out := filepath.Join(dir, "out")
	var o, e bytes.Buffer
	require.Equal(t, ExitOK, Run([]string{"build", topo, "-o", out}, &Env{Stdout: &o, Stderr: &e}), e.String())
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--rearm", "node1-cp", "--rearm", "node2-cp"}, ExitOK,
			"node1-cp had not been delivered; node2-cp had not been delivered; control-plane configs fetched: none; not yet: node1-cp, node2-cp, node3-cp"},
		{[]string{"--rearm", "node4-worker"}, ExitFailed, "--rearm: node node4-worker is a worker"},
		{[]string{"--rearm", "node9"}, ExitFailed, `has no node "node9"`},
		{[]string{"--one-time=false", "--rearm", "node1-cp"}, ExitUsage, "--rearm needs one-time delivery"},
	} {
		var o, e bytes.Buffer
		code := Run(append([]string{"serve", "-o", out}, tc.args...), &Env{Stdout: &o, Stderr: &e})
		assert.Equal(t, tc.code, code, tc.args)
		assert.Contains(t, e.String(), tc.msg, tc.args)
	}
}
