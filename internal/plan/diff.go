package plan

import (
	"github.com/ignigen/ignigen/internal/build"
	"github.com/ignigen/ignigen/internal/model"
)

// Change is one node's difference between two builds and what the operator does about it.
type Change struct {
	Node   string
	Role   string
	Kind   Kind
	Action string
	File   string // the node's config in the previous build (changed and removed nodes)
}

// Kind is how a node's config differs from the previous build's.
type Kind string

const (
	Unchanged Kind = "unchanged"
	Changed   Kind = "changed"
	Added     Kind = "added"
	Removed   Kind = "removed"
)

// Diff lists every node of prev and next, next's in its order, then the removed ones. Without a
// previous build of the same cluster every node is added: all of them boot from scratch.
func Diff(prev, next *build.Manifest) []Change {
	before := map[string]build.NodeSummary{}
	if SameCluster(prev, next) {
		for _, n := range prev.Nodes {
			before[n.Name] = n
		}
	}
	var out []Change
	for _, n := range next.Nodes {
		c := Change{Node: n.Name, Role: n.Role}
		switch was, ok := before[n.Name]; {
		case !ok:
			c.Kind, c.Action = Added, "boot it from "+n.File
		case was.SHA256 == n.SHA256:
			c.Kind, c.Action = Unchanged, "nothing"
		default:
			c.Kind, c.Action, c.File = Changed, "a running node keeps its first-boot config: re-provision it to apply (one VIP holder or control-plane node at a time)", was.File
		}
		delete(before, n.Name)
		out = append(out, c)
	}
	for _, n := range prev.Nodes {
		if _, gone := before[n.Name]; gone {
			out = append(out, Change{Node: n.Name, Role: n.Role, Kind: Removed, Action: removal(model.Role(n.Role).Spec()), File: n.File})
		}
	}
	return out
}

// removal says how a node of spec's role leaves a running cluster (README "Day 2 operations").
func removal(spec model.RoleSpec) string {
	switch {
	case spec.APIServer:
		return "drain it, run `kubeadm reset --force` on it (removes its etcd member), shut it down, `kubectl delete node`"
	case spec.Kubernetes:
		return "drain it, shut it down, `kubectl delete node`"
	default:
		return "shut it down"
	}
}
