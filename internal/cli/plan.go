package cli

import (
	"fmt"
	"strings"
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

// changes prints what the build changed against the previous one, node by node, and what to do;
// then what differs in the changed configs, once for nodes that changed alike.
func changes(env *Env, prev, next *build.Manifest, details map[string]plan.Detail) {
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
	var order []string
	alike := map[string][]string{}
	for _, n := range next.Nodes {
		if detail, ok := details[n.Name]; ok {
			d := detail.String()
			if alike[d] == nil {
				order = append(order, d)
			}
			alike[d] = append(alike[d], n.Name)
		}
	}
	for _, d := range order {
		fmt.Fprintf(env.Stdout, "  %s: %s\n", strings.Join(alike[d], ", "), d)
	}
	for _, n := range next.Nodes {
		if n.Phase == string(model.PhaseInit) {
			fmt.Fprintf(env.Stdout, "note: %s keeps the init phase; once the cluster has booted, set `cluster.initialized: true` so that no rebuild gives any node the init phase (a re-provisioned %s joins the running cluster all the same: init-or-join)\n", n.Name, n.Name)
		}
	}
}

// dryRunReport says what `build --dry-run` found: the change table a build would print, and
// that nothing was written.
func dryRunReport(env *Env, dir string, prev *build.Manifest, res *build.Result, details map[string]plan.Detail, newSecrets bool) {
	fmt.Fprintf(env.Stdout, "dry run: nothing was written to %s\n", dir)
	switch {
	case prev == nil && newSecrets:
		fmt.Fprintf(env.Stdout, "a build would be the first in %s: a new secrets bundle, %d nodes to boot\n", dir, len(res.Manifest.Nodes))
	case prev == nil:
		fmt.Fprintf(env.Stdout, "a build would be the first in %s: %d nodes to boot\n", dir, len(res.Manifest.Nodes))
	default:
		changes(env, prev, &res.Manifest, details)
	}
}
