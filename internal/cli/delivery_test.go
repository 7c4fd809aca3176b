package cli

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ignigen/ignigen/internal/build"
)

func TestDeliveryCommandErrors(t *testing.T) {
	empty := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"export", "matchbox", empty}, ExitUsage, "--url is required"},
		{[]string{"export", "pixie", empty, "--url", "http://x"}, ExitUsage, `unknown format "pixie"`},
		{[]string{"export", "matchbox", t.TempDir(), "--from", empty, "--url", "http://x"}, ExitFailed, "is not a build output"},
		{[]string{"serve", "--tls-cert", "c.pem"}, ExitUsage, "--tls-cert and --tls-key go together"},
		{[]string{"serve", "-o", empty, "--listen", "127.0.0.1:0"}, ExitFailed, "is not a build output"},
	} {
		var out, errb bytes.Buffer
		code := Run(tc.args, &Env{Stdout: &out, Stderr: &errb})
		assert.Equal(t, tc.code, code, tc.args)
		assert.Contains(t, errb.String(), tc.msg, tc.args)
	}
}

func TestDeliverySummaryWarnsOnLargeConfigs(t *testing.T) {
	res := &build.Result{Manifest: build.Manifest{Nodes: []build.NodeSummary{
		{Name: "small", File: "small.ign", Bytes: 6 << 10},
		{Name: "big", File: "big.ign", Bytes: 1 << 20},
	}}}
	var out bytes.Buffer
	deliverySummary(&Env{Stdout: &out}, "out", res)
	assert.Contains(t, out.String(), "largest config big, 1024.0 KiB, ~8.3s to read through fw_cfg")
	assert.Contains(t, out.String(), "warning: big.ign is 1024 KiB")
	assert.NotContains(t, out.String(), "warning: small.ign")
}
