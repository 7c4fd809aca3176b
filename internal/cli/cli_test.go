package cli

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/output"
	"github.com/ignigen/ignigen/internal/secrets"
	"github.com/ignigen/ignigen/internal/topology"
)

// testNow is the injected clock: builds must not depend on the wall clock.
var testNow = time.Date(2026, 11, 24, 0, 25, 32, 0, time.UTC)

type result struct {
	code           int
	stdout, stderr string
}

func runAt(now time.Time, args ...string) result {
	var out, errb bytes.Buffer
	code := Run(args, &Env{Stdout: &out, Stderr: &errb, Now: func() time.Time { return now }})
	return result{code, out.String(), errb.String()}
}

func run(args ...string) result { return runAt(testNow, args...) }

// tree returns every entry under dir (dir itself included as "."): its mode and, for files,
// its bytes. Two equal trees are byte- and mode-identical, with no entry more or less.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out[rel] = fi.Mode().String()
		if d.Type().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out[rel] += " " + string(data)
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Mode().Perm()
}

// writeTopology writes a topology into dir, optionally edited (old -> new pairs).
func writeTopology(t *testing.T, dir, name string, edits ...string) string {
	t.Helper()
	src := string(topology.Example)
	for i := 0; i+1 < len(edits); i += 2 {
		require.Contains(t, src, edits[i])
		src = strings.Replace(src, edits[i], edits[i+1], 1)
	}
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	return path
}

// recorder runs commands and keeps their output, so a test can check at its end that no
// output of any command carried a secret.
type recorder struct {
	t       *testing.T
	outputs []string
}

func (r *recorder) run(args ...string) result {
	res := run(args...)
	r.outputs = append(r.outputs, strings.Join(args, " ")+"\n"+res.stdout+res.stderr)
	return res
}

func (r *recorder) runAt(now time.Time, args ...string) result {
	res := runAt(now, args...)
	r.outputs = append(r.outputs, strings.Join(args, " ")+"\n"+res.stdout+res.stderr)
	return res
}

// noSecretsPrinted fails if any recorded output holds a private key or a bundle's token.
func (r *recorder) noSecretsPrinted(bundles ...string) {
	r.t.Helper()
	require.NotEmpty(r.t, bundles)
	for _, path := range bundles {
		b, _, err := secrets.Load(path, testNow)
		require.NoError(r.t, err)
		secret := b.BootstrapToken[strings.IndexByte(b.BootstrapToken, '.')+1:]
		for _, out := range r.outputs {
			assert.NotContains(r.t, out, "PRIVATE KEY")
			assert.NotContains(r.t, out, secret, "the bootstrap token's secret is never printed")
			assert.NotContains(r.t, out, b.VRRPPassword, "the VRRP password is never printed")
		}
	}
}

func TestBuildSecretsLifecycle(t *testing.T) {
	r := &recorder{t: t}
	work := t.TempDir()
	topo := writeTopology(t, work, "topology.yaml")
	out := filepath.Join(work, "out")

	// First build: creates the bundle in DIR, everything owner-only but the manifest.
	res := r.run("build", topo, "-o", out)
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Contains(t, res.stdout, "new secrets bundle: "+filepath.Join(out, SecretsFile))
	assert.Equal(t, fs.FileMode(0o700), mode(t, out))
	assert.Equal(t, fs.FileMode(0o600), mode(t, filepath.Join(out, SecretsFile)))
	assert.Equal(t, fs.FileMode(0o644), mode(t, filepath.Join(out, output.Marker)))
	assert.Equal(t, fs.FileMode(0o600), mode(t, filepath.Join(out, "admin.kubeconfig")))
	igns, _ := filepath.Glob(filepath.Join(out, "*.ign"))
	require.Len(t, igns, 5)
	for _, f := range igns {
		assert.Equal(t, fs.FileMode(0o600), mode(t, f), f)
	}
	for name, entry := range tree(t, out) {
		assert.NotRegexp(t, `^.....w|^........w`, entry[:10], "%s is writable by others", name)
	}
	first := tree(t, work)

	// Second build, an hour later: byte-identical, and the bundle is kept as it was.
	res = r.runAt(testNow.Add(time.Hour), "build", topo, "-o", out)
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Equal(t, first, tree(t, work), "same topology + same secrets = same output, and nothing left beside DIR")
	assert.NotContains(t, res.stdout, "new secrets bundle", "the bundle was reused, not created")

	// A topology asking for RSA keys is refused against the ECDSA bundle, and nothing changes.
	rsa := writeTopology(t, work, "rsa.yaml", "keyAlgorithm: ECDSA-P256", "keyAlgorithm: RSA-2048")
	first = tree(t, work)
	res = r.run("build", rsa, "-o", out)
	assert.Equal(t, ExitFailed, res.code)
	assert.Contains(t, res.stderr, "secrets bundle "+filepath.Join(out, SecretsFile)+" holds ECDSA-P256 keys but the topology asks for RSA-2048 (kubernetes.keyAlgorithm)")
	assert.Empty(t, res.stdout)
	assert.Equal(t, first, tree(t, work))

	// --secrets naming a missing file is an error naming it: never a silent new CA.
	missing := filepath.Join(work, "missing.yaml")
	res = r.run("build", topo, "-o", out, "--secrets", missing)
	assert.Equal(t, ExitFailed, res.code)
	assert.Contains(t, res.stderr, "secrets bundle "+missing+" does not exist")
	assert.Empty(t, res.stdout)
	assert.Equal(t, first, tree(t, work), "DIR untouched, no bundle created")
	res = r.run("build", topo, "-o", filepath.Join(work, "fresh"), "--secrets", missing)
	assert.Equal(t, ExitFailed, res.code)
	assert.Equal(t, first, tree(t, work), "no new DIR either")

	r.noSecretsPrinted(filepath.Join(out, SecretsFile))
}

func TestSecretsCreateThenBuild(t *testing.T) {
	r := &recorder{t: t}
	work := t.TempDir()
	topo := writeTopology(t, work, "topology.yaml")
	bundle := filepath.Join(work, "cluster-secrets.yaml")
	out := filepath.Join(work, "out")

	res := r.run("secrets", "create", bundle)
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Equal(t, fs.FileMode(0o600), mode(t, bundle))
	created := tree(t, work)[filepath.Base(bundle)]

	// Never overwritten: a new bundle means new CAs.
	res = r.run("secrets", "create", bundle)
	assert.Equal(t, ExitFailed, res.code)
	assert.Contains(t, res.stderr, bundle+" already exists")
	assert.Equal(t, created, tree(t, work)[filepath.Base(bundle)])

	res = r.run("build", topo, "-o", out, "--secrets", bundle)
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.NotContains(t, res.stdout, "new secrets bundle")
	assert.NoFileExists(t, filepath.Join(out, SecretsFile), "an explicit bundle is not copied into DIR")
	assert.FileExists(t, filepath.Join(out, output.Marker))
	assert.Equal(t, created, tree(t, work)[filepath.Base(bundle)], "the bundle is only read")
	built := tree(t, work)

	res = r.runAt(testNow.Add(24*time.Hour), "build", topo, "-o", out, "--secrets", bundle)
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Equal(t, built, tree(t, work))

	// RSA topology against the ECDSA bundle: refused with a clear message.
	rsa := writeTopology(t, work, "rsa.yaml", "keyAlgorithm: ECDSA-P256", "keyAlgorithm: RSA-2048")
	built = tree(t, work)
	res = r.run("build", rsa, "-o", out, "--secrets", bundle)
	assert.Equal(t, ExitFailed, res.code)
	assert.Contains(t, res.stderr, "secrets bundle "+bundle+" holds ECDSA-P256 keys but the topology asks for RSA-2048 (kubernetes.keyAlgorithm); set it back to ECDSA-P256, or start a new cluster with a new bundle")
	assert.Equal(t, built, tree(t, work))

	// A bundle an earlier build left in DIR is never deleted by a build with another --secrets.
	other := filepath.Join(work, "other")
	res = r.run("build", topo, "-o", other)
	require.Equal(t, ExitOK, res.code, res.stderr)
	built = tree(t, work)
	res = r.run("build", topo, "-o", other, "--secrets", bundle)
	assert.Equal(t, ExitFailed, res.code)
	assert.Contains(t, res.stderr, filepath.Join(other, SecretsFile)+" holds a different secrets bundle than --secrets "+bundle)
	assert.Equal(t, built, tree(t, work))
	// The same bundle named explicitly is fine, and stays.
	res = r.run("build", topo, "-o", other, "--secrets", filepath.Join(other, SecretsFile))
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Equal(t, built, tree(t, work))

	// Bad key algorithm for secrets create is a usage error.
	res = r.run("secrets", "create", filepath.Join(work, "x.yaml"), "--key-algorithm", "ED25519")
	assert.Equal(t, ExitUsage, res.code)
	assert.NoFileExists(t, filepath.Join(work, "x.yaml"))

	r.noSecretsPrinted(bundle)
}

func TestRSABundle(t *testing.T) {
	r := &recorder{t: t}
	work := t.TempDir()
	bundle := filepath.Join(work, "rsa-secrets.yaml")
	res := r.run("secrets", "create", bundle, "--key-algorithm", "RSA-2048")
	require.Equal(t, ExitOK, res.code, res.stderr)
	rsa := writeTopology(t, work, "rsa.yaml", "keyAlgorithm: ECDSA-P256", "keyAlgorithm: RSA-2048")
	res = r.run("build", rsa, "-o", filepath.Join(work, "out"), "--secrets", bundle)
	require.Equal(t, ExitOK, res.code, res.stderr)
	// And the default (ECDSA) topology is refused against it.
	ecdsa := writeTopology(t, work, "ecdsa.yaml")
	res = r.run("build", ecdsa, "-o", filepath.Join(work, "out"), "--secrets", bundle)
	assert.Equal(t, ExitFailed, res.code)
	assert.Contains(t, res.stderr, "holds RSA-2048 keys but the topology asks for ECDSA-P256")
	r.noSecretsPrinted(bundle)
}

func TestForeignOutputDirRefused(t *testing.T) {
	work := t.TempDir()
	topo := writeTopology(t, work, "topology.yaml")
	out := filepath.Join(work, "home")
	require.NoError(t, os.Mkdir(out, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(out, "notes.txt"), []byte("mine\n"), 0o640))
	before := tree(t, work)

	res := run("build", topo, "-o", out)
	assert.Equal(t, ExitFailed, res.code)
	assert.Contains(t, res.stderr, "output directory "+out+" is not empty and holds no "+output.Marker)
	assert.Contains(t, res.stderr, "(nothing was changed)")
	assert.Equal(t, before, tree(t, work), "the directory and everything beside it untouched")

	// A file where DIR should be is refused too, in the same words with or without --secrets.
	bundle := filepath.Join(t.TempDir(), "bundle.yaml")
	require.Equal(t, ExitOK, run("secrets", "create", bundle).code)
	file := filepath.Join(work, "topology.yaml")
	for _, extra := range [][]string{nil, {"--secrets", bundle}} {
		res = run(append([]string{"build", topo, "-o", file}, extra...)...)
		assert.Equal(t, ExitFailed, res.code)
		assert.Equal(t, "ignigen build: writing "+file+": output "+file+" exists and is not a directory; choose another -o (nothing was changed)\n", res.stderr, "build %v", extra)
		assert.Equal(t, before, tree(t, work))
	}

	// An empty directory is fine to fill.
	empty := filepath.Join(work, "empty")
	require.NoError(t, os.Mkdir(empty, 0o755))
	res = run("build", topo, "-o", empty)
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.FileExists(t, filepath.Join(empty, output.Marker))
}

func TestValidateAndInit(t *testing.T) {
	work := t.TempDir()
	res := run("init")
	require.Equal(t, ExitOK, res.code)
	assert.Equal(t, string(topology.Example), res.stdout)
	path := filepath.Join(work, "t.yaml")
	require.NoError(t, os.WriteFile(path, []byte(res.stdout), 0o644))
	res = run("validate", path)
	assert.Equal(t, ExitOK, res.code, res.stderr)
	assert.Empty(t, res.stderr)
	assert.Contains(t, res.stdout, path+": valid: cluster flatcar-ha, 3 control-plane and 2 worker node(s)")

	res = run("validate", filepath.Join(work, "nope.yaml"))
	assert.Equal(t, ExitFailed, res.code)
	assert.Contains(t, res.stderr, "nope.yaml")
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // in stderr (or stdout, for no arguments)
	}{
		{"no arguments", nil, "Commands:"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", []string{"validate", "--bogus", "t.yaml"}, "unknown flag: --bogus"},
		{"unknown shorthand", []string{"build", "-x", "t.yaml"}, "unknown shorthand flag: 'x'"},
		{"flag without value", []string{"build", "t.yaml", "-o"}, "flag needs an argument"},
		{"validate without file", []string{"validate"}, "expected 1 argument(s), got 0"},
		{"validate two files", []string{"validate", "a.yaml", "b.yaml"}, "expected 1 argument(s), got 2"},
		{"build without file", []string{"build", "-o", "x"}, "expected 1 argument(s), got 0"},
		{"init with argument", []string{"init", "x"}, "expected 0 argument(s), got 1"},
		{"version with argument", []string{"version", "x"}, "expected 0 argument(s), got 1"},
		{"secrets without file", []string{"secrets", "create"}, "expected 2 argument(s), got 1"},
		{"secrets unknown action", []string{"secrets", "rotate", "f.yaml"}, `unknown action "rotate"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			t.Chdir(work)
			res := run(tc.args...)
			assert.Equal(t, ExitUsage, res.code)
			assert.Contains(t, res.stdout+res.stderr, tc.want)
			if len(tc.args) > 0 {
				assert.NotEmpty(t, res.stderr, "the problem is on stderr")
			}
			entries, err := os.ReadDir(work)
			require.NoError(t, err)
			assert.Empty(t, entries, "bad usage writes nothing")
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		res := run(args...)
		assert.Equal(t, ExitOK, res.code, args)
		assert.Contains(t, res.stdout, "Commands:")
	}
	require.NotEmpty(t, commands)
	for name, cmd := range commands {
		for _, flag := range []string{"--help", "-h"} {
			res := run(name, flag)
			assert.Equal(t, ExitOK, res.code, "%s %s: %s", name, flag, res.stderr)
			assert.True(t, strings.HasPrefix(res.stdout, "Usage: "+cmd.usage+"\n"), "%s %s: %q", name, flag, res.stdout)
			assert.Empty(t, res.stderr)
		}
	}
}

func TestRenewAdmin(t *testing.T) {
	r := &recorder{t: t}
	work := t.TempDir()
	topo := writeTopology(t, work, "topology.yaml")
	out := filepath.Join(work, "out")
	bundle := filepath.Join(out, SecretsFile)
	res := r.run("build", topo, "-o", out)
	require.Equal(t, ExitOK, res.code, res.stderr)
	before := tree(t, work)
	oldBundle, err := os.ReadFile(bundle)
	require.NoError(t, err)

	// A year and a day later the admin certificate has expired: the build says how to renew it.
	later := testNow.Add(366 * 24 * time.Hour)
	res = r.runAt(later, "build", topo, "-o", out)
	assert.Equal(t, ExitFailed, res.code)
	assert.Contains(t, res.stderr, "admin: certificate expired on")
	assert.Contains(t, res.stderr, "ignigen secrets renew-admin "+bundle)
	assert.NotContains(t, res.stderr, "restore it from a backup")
	assert.Equal(t, before, tree(t, work))

	res = r.runAt(later, "secrets", "renew-admin", bundle)
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Contains(t, res.stdout, "valid until "+later.Add(365*24*time.Hour).Format(time.DateOnly))
	assert.Equal(t, fs.FileMode(0o600), mode(t, bundle))
	oldB, err := secrets.Decode(oldBundle)
	require.NoError(t, err)
	newB, _, err := secrets.Load(bundle, later)
	require.NoError(t, err)
	assert.Equal(t, oldB.CAs, newB.CAs, "the CAs never change")
	assert.Equal(t, oldB.ServiceAccount, newB.ServiceAccount)
	assert.Equal(t, oldB.BootstrapToken, newB.BootstrapToken)
	assert.NotEqual(t, oldB.Admin, newB.Admin)

	// The rebuild changes admin.kubeconfig and the bundle, and not one node config.
	res = r.runAt(later, "build", topo, "-o", out)
	require.Equal(t, ExitOK, res.code, res.stderr)
	after := tree(t, work)
	for name, entry := range before {
		switch filepath.Base(name) {
		case "admin.kubeconfig", SecretsFile:
			assert.NotEqual(t, entry, after[name], name)
		default:
			assert.Equal(t, entry, after[name], name)
		}
	}

	res = r.run("secrets", "renew-admin", filepath.Join(work, "missing.yaml"))
	assert.Equal(t, ExitFailed, res.code)
	r.noSecretsPrinted(bundle)
}
