//go:build hatest

package hatest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/pki"
	"github.com/ignigen/ignigen/internal/testkit"
)

// initGuardScript is where the init node's config puts init-or-join.
const initGuardScript = "opt/ignigen/bin/init-or-join"

// initNode is the node whose config initialises the cluster.
func (c *cluster) initNode() *node {
	for _, n := range c.nodes {
		if n.init {
			return n
		}
	}
	c.t.Fatal("no init node")
	return nil
}

// runInitGuard runs the init node's generated init-or-join in its namespaces with the decision
// printed instead of acted on (IGNIGEN_INIT_DRY_RUN=1), trusting ca (the node's own
// /etc/ignigen/ca.crt when empty). It returns "init" or "join", the script's output and how long
// it took.
func (c *cluster) runInitGuard(ctx context.Context, ca string) (string, string, time.Duration) {
	n := c.initNode()
	if ca == "" {
		ca = filepath.Join(n.root, "etc/ignigen/ca.crt")
	}
	script := filepath.Join(n.root, initGuardScript)
	began := time.Now()
	out, err := n.execErr(ctx, "sh", "-c", `mkdir -p /etc/ignigen && touch /etc/ignigen/ca.crt && mount --bind "$1" /etc/ignigen/ca.crt
IGNIGEN_INIT_DRY_RUN=1 bash "$2"; rc=$?; umount /etc/ignigen/ca.crt; exit $rc`, "guard", ca, script)
	took := time.Since(began)
	if err != nil {
		c.t.Fatalf("init-or-join failed after %s: %v\n%s", took, err, out)
	}
	for _, d := range []string{"init", "join"} {
		if strings.Contains(out, "decision: "+d+"\n") {
			return d, out, took
		}
	}
	c.t.Fatalf("init-or-join printed no decision:\n%s", out)
	return "", out, took
}

// proveInitGuard: with the cluster running, a re-provisioned init node's guard finds an API
// server of the cluster CA and joins; the negative control trusts another CA, under which the
// same answering API servers are not ours, and the guard must decide to initialise.
func (c *cluster) proveInitGuard(t *testing.T, ctx context.Context) {
	d, out, took := c.runInitGuard(ctx, "")
	t.Logf("cluster running: init-or-join decides %q in %s: %s", d, took.Round(time.Millisecond), firstLine(out))
	if d != "join" {
		t.Errorf("a re-provisioned init node of a running cluster must join, not initialise:\n%s", out)
	}
	key, err := pki.NewKey(model.ECDSAP256)
	testkit.Must(t, err)
	der, err := pki.NewCA("kubernetes", key, time.Now())
	testkit.Must(t, err)
	foreign := filepath.Join(c.dir, "foreign-ca.crt")
	testkit.Must(t, os.WriteFile(foreign, pki.EncodeCert(der), 0o644))
	d, out, took = c.runInitGuard(ctx, foreign)
	t.Logf("negative control (another CA trusted): init-or-join decides %q in %s", d, took.Round(time.Millisecond))
	if d != "init" {
		t.Errorf("negative control: API servers of another CA were taken for the cluster's:\n%s", out)
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}
