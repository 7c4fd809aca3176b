package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/ignigen/ignigen/internal/build"
	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/plan"
	"github.com/ignigen/ignigen/internal/report"
	"github.com/ignigen/ignigen/internal/topology"
)

// membershipAbsorbed prints, located in the topology, every change the running cluster of the
// previous build cannot absorb. They stop the build (nothing is written) unless allowed, when
// they are warnings.
func membershipAbsorbed(env *Env, file string, text []byte, prev, next *build.Manifest, allow bool) bool {
	problems := plan.Check(prev, next)
	if len(problems) == 0 {
		return true
	}
	locate := topology.Locator(text)
	r := report.Report{File: file}
	for _, p := range problems {
		sev := report.Error
		if allow {
			sev = report.Warning
		}
		r.Add(report.Entry{Severity: sev, Pos: locate(p.Path), Path: p.Path, Message: p.Message, Hint: p.Hint})
	}
	r.Sort()
	fmt.Fprint(env.Stderr, r.String())
	if allow {
		fmt.Fprintf(env.Stderr, "%s: building anyway (--allow-membership-change): re-provision the running VIP holders and control-plane nodes one at a time\n", file)
		return true
	}
	fmt.Fprintf(env.Stderr, "%s: %d change(s) the running cluster cannot absorb; nothing was changed\n", file, len(problems))
	return false
}

// changes prints what the build changed against the previous one, node by node, and what to do.
func changes(env *Env, prev, next *build.Manifest) {
	switch {
	case prev == nil:
		return // a first build: the summary said it all
	case prev.Membership == nil:
		fmt.Fprintln(env.Stdout, "changes: the previous build records no membership (an older ignigen); compare the node configs yourself")
		return
	case !plan.SameCluster(prev, next):
		fmt.Fprintln(env.Stdout, "changes: other secrets than the previous build: this is a new cluster, every node boots from scratch")
		return
	}
	fmt.Fprintln(env.Stdout, "changes since the previous build:")
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NODE\tROLE\tCONFIG\tTO DO")
	for _, c := range plan.Diff(prev, next) {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.Node, c.Role, c.Kind, c.Action)
	}
	tw.Flush()
	for _, n := range next.Nodes {
		if n.Phase == string(model.PhaseInit) {
			fmt.Fprintf(env.Stdout, "note: %s keeps the init phase; once the cluster has booted, set `cluster.initialized: true` so that no rebuild gives any node the init phase (a re-provisioned %s joins the running cluster all the same: init-or-join)\n", n.Name, n.Name)
		}
	}
}
