package cli

import (
	"fmt"
	"path/filepath"
	"text/tabwriter"

	"github.com/ignigen/ignigen/internal/build"
	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/osprofile"
	"github.com/ignigen/ignigen/internal/output"
	"github.com/ignigen/ignigen/internal/plan"
)

func runBuild(env *Env, args []string) int {
	fs := flags("build")
	outDir := fs.StringP("output", "o", "out", "output directory, replaced as a whole")
	secretsPath := fs.String("secrets", "", "secrets bundle to use; must exist (default: DIR/secrets.yaml, created on the first build)")
	useCache := fs.Bool("cache", true, "reuse translations of earlier builds (kept sealed in $"+CacheEnv+", default ~/.cache/ignigen/build; the output is the same either way)")
	allowMembership := fs.Bool("allow-membership-change", false, "build even if running nodes cannot absorb the change (the cluster is not booted yet, or you re-provision every VIP holder and control-plane node)")
	dryRun := fs.Bool("dry-run", false, "build and compare with the previous build in DIR: print what would change and what a running cluster cannot absorb, write nothing to DIR")
	pos, code, done := parse(env, fs, "build", args, 1)
	if done {
		return code
	}
	c, text, ok := loadTopology(env, pos[0])
	if !ok {
		return ExitFailed
	}
	if err := checkOutputDir(*outDir); err != nil {
		fmt.Fprintf(env.Stderr, "ignigen build: writing %s: %v (nothing was changed)\n", *outDir, err)
		return ExitFailed
	}
	src, err := openSecrets(env, *outDir, *secretsPath, c.Kubernetes.KeyAlgorithm, c.Kubernetes.TokenTTL)
	if err != nil {
		fmt.Fprintf(env.Stderr, "ignigen build: %v\n", err)
		return ExitFailed
	}
	defer tuneGC(len(c.Nodes))()
	res, err := build.BuildCached(c, src.bundle, osprofile.Roots(), openCache(env, *useCache))
	if err != nil {
		fmt.Fprintf(env.Stderr, "ignigen build: %v\n", err)
		return ExitFailed
	}
	prev, err := plan.Previous(*outDir)
	if err != nil {
		fmt.Fprintf(env.Stderr, "ignigen build: %v (nothing was changed)\n", err)
		return ExitFailed
	}
	if !membershipAbsorbed(env, pos[0], text, prev, &res.Manifest, *allowMembership) {
		return ExitFailed
	}
	configs := make(map[string][]byte, len(res.Files))
	for _, f := range res.Files {
		configs[f.Name] = f.Data
	}
	// Read before the new output replaces the previous configs.
	details := plan.Details(*outDir, prev, &res.Manifest, func(file string) []byte { return configs[file] })
	if *dryRun {
		dryRunReport(env, *outDir, prev, res, details, src.created)
		return ExitOK
	}
	files := make([]output.File, 0, len(res.Files)+1)
	for _, f := range res.Files {
		files = append(files, output.File(f))
	}
	if src.file != nil {
		files = append(files, *src.file)
	}
	if err := output.WriteDir(*outDir, files); err != nil {
		fmt.Fprintf(env.Stderr, "ignigen build: writing %s: %v (nothing was changed)\n", *outDir, err)
		return ExitFailed
	}
	summary(env, *outDir, res, src.created)
	changes(env, prev, &res.Manifest, details)
	return ExitOK
}

func summary(env *Env, dir string, res *build.Result, newSecrets bool) {
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight*0)
	fmt.Fprintln(tw, "NODE\tROLE\tIP\tFILE\tBYTES")
	for _, n := range res.Manifest.Nodes {
		role := n.Role
		if n.Phase == string(model.PhaseInit) {
			role += " (init)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", n.Name, role, n.IP, filepath.Join(dir, n.File), n.Bytes)
	}
	tw.Flush()
	fmt.Fprintf(env.Stdout, "admin kubeconfig: %s (API %s)\n", filepath.Join(dir, build.KubeconfigFile), res.Manifest.Endpoint)
	deliverySummary(env, dir, res)
	if newSecrets {
		fmt.Fprintf(env.Stdout, "new secrets bundle: %s (keep it: later builds of this cluster need it)\n", filepath.Join(dir, SecretsFile))
	}
}
