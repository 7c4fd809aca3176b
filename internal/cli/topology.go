package cli

import (
	"fmt"
	"strings"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/topology"
)

func runInit(env *Env, args []string) int {
	fs := flags("init")
	if _, code, done := parse(env, fs, "init", args, 0); done {
		return code
	}
	env.Stdout.Write(topology.Example)
	return ExitOK
}

// loadTopology reads and validates a topology, printing every diagnostic to stderr. It returns
// the text too, to locate later diagnostics (topology.Locator).
func loadTopology(env *Env, path string) (*model.Cluster, []byte, bool) {
	data, ok := readFile(env, path)
	if !ok {
		return nil, nil, false
	}
	c, r, err := topology.Parse(path, data)
	fmt.Fprint(env.Stderr, r.String())
	if err != nil {
		fmt.Fprintln(env.Stderr, r.Summary())
		return nil, nil, false
	}
	return c, data, true
}

func runValidate(env *Env, args []string) int {
	fs := flags("validate")
	pos, code, done := parse(env, fs, "validate", args, 1)
	if done {
		return code
	}
	c, _, ok := loadTopology(env, pos[0])
	if !ok {
		return ExitFailed
	}
	fmt.Fprintf(env.Stdout, "%s: valid: cluster %s, %s node(s), API at %s\n", pos[0], c.Name, roleCounts(c), c.Endpoint.URL())
	return ExitOK
}

// roleCounts says how many nodes of each role the cluster has, in role-table order: "3
// control-plane, 2 worker and 2 load-balancer".
func roleCounts(c *model.Cluster) string {
	var parts []string
	for _, r := range model.Roles {
		if k := len(c.NodesOf(r)); k > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", k, r))
		}
	}
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
