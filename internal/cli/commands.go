package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/ignigen/ignigen/internal/build"
	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/output"
	"github.com/ignigen/ignigen/internal/pki"
	"github.com/ignigen/ignigen/internal/secrets"
	"github.com/ignigen/ignigen/internal/topology"
	"github.com/ignigen/ignigen/profiles"
)

// SecretsFile is the bundle's name inside the output directory.
const SecretsFile = "secrets.yaml"

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

func runBuild(env *Env, args []string) int {
	fs := flags("build")
	outDir := fs.StringP("output", "o", "out", "output directory, replaced as a whole")
	secretsPath := fs.String("secrets", "", "secrets bundle to use; must exist (default: DIR/secrets.yaml, created on the first build)")
	pos, code, done := parse(env, fs, "build", args, 1)
	if done {
		return code
	}
	c, ok := loadTopology(env, pos[0])
	if !ok {
		return ExitFailed
	}
	if err := checkOutputDir(*outDir); err != nil {
		fmt.Fprintf(env.Stderr, "ignigen build: writing %s: %v (nothing was changed)\n", *outDir, err)
		return ExitFailed
	}
	src, err := openSecrets(env, *outDir, *secretsPath, c.Kubernetes.KeyAlgorithm)
	if err != nil {
		fmt.Fprintf(env.Stderr, "ignigen build: %v\n", err)
		return ExitFailed
	}
	res, err := build.Build(c, src.bundle, profiles.FS)
	if err != nil {
		fmt.Fprintf(env.Stderr, "ignigen build: %v\n", err)
		return ExitFailed
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
	return ExitOK
}

// bundleSource is the bundle a build uses and, when it lives in the output directory, the
// file to write there (the swap replaces the whole directory, so an existing bundle is carried
// over byte for byte).
type bundleSource struct {
	bundle  *secrets.Bundle
	file    *output.File // nil for --secrets FILE
	created bool
}

// openSecrets loads the bundle, or creates one for the output directory on the first build.
// It never creates a bundle for an explicit --secrets path.
func openSecrets(env *Env, outDir, explicit string, alg model.KeyAlgorithm) (*bundleSource, error) {
	now := env.Now()
	path := explicit
	if path == "" {
		path = filepath.Join(outDir, SecretsFile)
	}
	src := &bundleSource{}
	b, raw, err := secrets.Load(path, now)
	switch {
	case secrets.IsLooseMode(err):
		fmt.Fprintf(env.Stderr, "warning: %v\n", err)
	case errors.Is(err, fs.ErrNotExist) && explicit != "":
		return nil, fmt.Errorf("secrets bundle %s does not exist; ignigen never makes a new CA silently: omit --secrets to create %s on the first build, or run `ignigen secrets create %s`", explicit, SecretsFile, explicit)
	case errors.Is(err, fs.ErrNotExist):
		if b, err = secrets.New(alg, now); err != nil {
			return nil, fmt.Errorf("creating secrets: %w", err)
		}
		if raw, err = b.Marshal(); err != nil {
			return nil, err
		}
		src.created = true
	case err != nil:
		return nil, err
	}
	if b.KeyAlgorithm != alg {
		return nil, fmt.Errorf("secrets bundle %s holds %s keys but the topology asks for %s (kubernetes.keyAlgorithm); set it back to %s, or start a new cluster with a new bundle", path, b.KeyAlgorithm, alg, b.KeyAlgorithm)
	}
	src.bundle = b
	for _, w := range b.Expiring(now, 30*24*time.Hour, 365*24*time.Hour) {
		fmt.Fprintf(env.Stderr, "warning: secrets bundle %s: %s; plan its renewal\n", path, w)
	}
	if explicit == "" {
		src.file = &output.File{Name: SecretsFile, Data: raw, Mode: 0o600}
		return src, nil
	}
	// The swap replaces DIR as a whole: a bundle an earlier build left there must not vanish.
	inDir := filepath.Join(outDir, SecretsFile)
	if old, err := os.ReadFile(inDir); err == nil {
		if !bytes.Equal(old, raw) {
			return nil, fmt.Errorf("%s holds a different secrets bundle than --secrets %s, and this build would delete it; move it somewhere safe (it holds the CAs of the cluster built there), or build into another -o", inDir, explicit)
		}
		src.file = &output.File{Name: SecretsFile, Data: old, Mode: 0o600}
	}
	return src, nil
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

func runSecrets(env *Env, args []string) int {
	fs := flags("secrets")
	alg := fs.String("key-algorithm", topology.DefaultKeyAlgorithm, "ECDSA-P256 or RSA-2048; must match kubernetes.keyAlgorithm")
	pos, code, done := parse(env, fs, "secrets", args, 2)
	if done {
		return code
	}
	switch pos[0] {
	case "create":
	case "renew-admin":
		return renewAdmin(env, pos[1])
	default:
		fmt.Fprintf(env.Stderr, "ignigen secrets: unknown action %q; use `ignigen secrets create FILE` or `ignigen secrets renew-admin FILE`\n", pos[0])
		return ExitUsage
	}
	switch model.KeyAlgorithm(*alg) {
	case model.ECDSAP256, model.RSA2048:
	default:
		fmt.Fprintf(env.Stderr, "ignigen secrets: --key-algorithm %q: use ECDSA-P256 or RSA-2048\n", *alg)
		return ExitUsage
	}
	b, err := secrets.New(model.KeyAlgorithm(*alg), env.Now())
	if err == nil {
		var data []byte
		if data, err = b.Marshal(); err == nil {
			err = createExclusive(pos[1], data)
		}
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "ignigen secrets: %v\n", err)
		return ExitFailed
	}
	fmt.Fprintf(env.Stdout, "created %s (mode 0600); build with --secrets %s\n", pos[1], pos[1])
	return ExitOK
}

// createExclusive writes a new file and refuses to overwrite: replacing a bundle would rotate every CA.
func createExclusive(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists; a new bundle means new CAs, so remove it yourself if that is what you want", path)
		}
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// renewAdmin re-issues the admin certificate of the bundle at path, in place; nothing else of
// the bundle changes, so the cluster keeps trusting everything it trusted.
func renewAdmin(env *Env, path string) int {
	fail := func(err error) int {
		fmt.Fprintf(env.Stderr, "ignigen secrets renew-admin: %v\n", err)
		return ExitFailed
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fail(err)
	}
	b, err := secrets.Decode(data)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", path, err))
	}
	now := env.Now()
	if err := b.RenewAdmin(now); err != nil {
		return fail(fmt.Errorf("%s: %w", path, err))
	}
	if err := b.Check(now); err != nil {
		return fail(fmt.Errorf("%s is damaged beyond the admin certificate, so it was left as it was; restore it from a backup: %w", path, err))
	}
	out, err := b.Marshal()
	if err != nil {
		return fail(err)
	}
	if err := replaceFile(path, out); err != nil {
		return fail(err)
	}
	cert, _ := pki.ParseCert([]byte(b.Admin.Cert))
	fmt.Fprintf(env.Stdout, "renewed the admin certificate in %s, valid until %s; build again to refresh admin.kubeconfig\n", path, cert.NotAfter.Format(time.DateOnly))
	return ExitOK
}

// replaceFile writes data beside path and renames it over path, mode 0600: a crash leaves the
// old bundle or the new one, never half of one.
func replaceFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".new-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
