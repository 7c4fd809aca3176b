package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/ignigen/ignigen/internal/topology"
)

// Exit codes.
const (
	ExitOK     = 0
	ExitFailed = 1 // invalid input or a failed build
	ExitUsage  = 2 // bad command line
)

// Version is set at link time (-X github.com/ignigen/ignigen/internal/cli.Version=...).
var Version = ""

// Env is what a command may touch: streams, the clock (injected so tests control time) and
// the network.
type Env struct {
	Stdout, Stderr io.Writer
	Now            func() time.Time
	// Dial opens the connections to a cluster's API server (`token create`); nil is the
	// system's dialer. The HA test reaches a cluster inside a network namespace through it.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

type command struct {
	summary string
	usage   string
	run     func(env *Env, args []string) int
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"init":     {"print a commented example topology", "ignigen init", runInit},
		"validate": {"check a topology and print every problem", "ignigen validate TOPOLOGY", runValidate},
		"build":    {"write one Ignition config per node, the admin kubeconfig and (first run) the secrets", "ignigen build TOPOLOGY [-o DIR] [--secrets FILE]", runBuild},
		"secrets":  {"create a secrets bundle, or renew its admin certificate", "ignigen secrets create FILE [--key-algorithm ECDSA-P256|RSA-2048] | ignigen secrets renew-admin FILE", runSecrets},
		"token":    {"register a new bootstrap token in the running cluster and store it in the bundle, for late joins", "ignigen token create [--ttl 24h] [-o DIR | --secrets FILE] [--kubeconfig FILE]", runToken},
		"certs":    {"report when the bundle's, the admin kubeconfig's and (--server) the API server's certificates expire; exit 1 inside the margin", "ignigen certs [-o DIR | --secrets FILE] [--server URL] [--margin 90d]", runCerts},
		"version":  {"print the version", "ignigen version", runVersion},
		"schema":   {"print the topology's JSON Schema, for editors", "ignigen schema > " + topology.SchemaFile, runSchema},
		"serve":    {"serve iPXE scripts and Ignition configs by MAC to PXE-booting machines", "ignigen serve [-o DIR] [--listen ADDR] [--assets DIR] [--tls-cert FILE --tls-key FILE] [--one-time=false] | ignigen serve -o DIR --rearm NODE...", runServe},
		"export":   {"write the build output in another tool's format", "ignigen export matchbox DIR --url URL [--from BUILD_DIR]", runExport},
	}
}

// Run executes one command line and returns the process exit code.
func Run(args []string, env *Env) int {
	if env.Now == nil {
		env.Now = time.Now
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stdout)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "ignigen: unknown command %q\n\n", args[0])
		usage(env.Stderr)
		return ExitUsage
	}
	return cmd.run(env, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "ignigen turns one topology file into Ignition configs for a self-assembling HA Kubernetes cluster.")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'ignigen COMMAND --help' for a command's options.")
}

// flags makes a command's flag set; parse errors and --help are handled by parse.
func flags(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	return fs
}

// parse parses args and returns (positional args, exit code, done).
func parse(env *Env, fs *pflag.FlagSet, name string, args []string, nargs int) ([]string, int, bool) {
	cmd := commands[name]
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		fmt.Fprintf(env.Stdout, "Usage: %s\n\n%s\n", cmd.usage, capitalize(cmd.summary))
		if o := fs.FlagUsages(); o != "" {
			fmt.Fprintf(env.Stdout, "\nOptions:\n%s", o)
		}
		return nil, ExitOK, true
	}
	if err == nil && fs.NArg() != nargs {
		err = fmt.Errorf("expected %d argument(s), got %d", nargs, fs.NArg())
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "ignigen %s: %v\nUsage: %s\n", name, err, cmd.usage)
		return nil, ExitUsage, true
	}
	return fs.Args(), 0, false
}

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] + "." }

func runVersion(env *Env, args []string) int {
	fs := flags("version")
	if _, code, done := parse(env, fs, "version", args, 0); done {
		return code
	}
	v := Version
	if v == "" {
		v = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			v = bi.Main.Version
		}
	}
	fmt.Fprintf(env.Stdout, "ignigen %s\n", v)
	return ExitOK
}

func readFile(env *Env, path string) ([]byte, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(env.Stderr, "ignigen: %v\n", err)
		return nil, false
	}
	return data, true
}
