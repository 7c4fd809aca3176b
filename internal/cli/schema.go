package cli

import (
	"fmt"

	"github.com/ignigen/ignigen/internal/topology"
)

// runSchema prints the topology's JSON Schema, for editors (README "Editing with a schema").
func runSchema(env *Env, args []string) int {
	fs := flags("schema")
	if _, code, done := parse(env, fs, "schema", args, 0); done {
		return code
	}
	s, err := topology.Schema()
	if err != nil {
		fmt.Fprintf(env.Stderr, "ignigen schema: %v\n", err)
		return ExitFailed
	}
	env.Stdout.Write(s)
	return ExitOK
}
