package cli

import (
	"fmt"

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

// loadTopology reads and validates a topology, printing every diagnostic to stderr.
func loadTopology(env *Env, path string) (*model.Cluster, bool) {
	data, ok := readFile(env, path)
	if !ok {
		return nil, false
	}
	c, r, err := topology.Parse(path, data)
	fmt.Fprint(env.Stderr, r.String())
	if err != nil {
		n, w := r.Count()
		fmt.Fprintf(env.Stderr, "%s: %d error(s), %d warning(s)\n", path, n, w)
		return nil, false
	}
	return c, true
}

func runValidate(env *Env, args []string) int {
	fs := flags("validate")
	pos, code, done := parse(env, fs, "validate", args, 1)
	if done {
		return code
	}
	c, ok := loadTopology(env, pos[0])
	if !ok {
		return ExitFailed
	}
	fmt.Fprintf(env.Stdout, "%s: valid: cluster %s, %d control-plane and %d worker node(s), API at %s\n",
		pos[0], c.Name, len(c.ControlPlanes()), len(c.Nodes)-len(c.ControlPlanes()), c.Endpoint.URL())
	return ExitOK
}
