// Command ignigen turns one topology file into Ignition configs for a self-assembling HA Kubernetes cluster.
package main

import (
	"os"

	"github.com/ignigen/ignigen/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], &cli.Env{Stdout: os.Stdout, Stderr: os.Stderr}))
}
