package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/output"
	"github.com/ignigen/ignigen/internal/pki"
	"github.com/ignigen/ignigen/internal/secrets"
	"github.com/ignigen/ignigen/internal/topology"
)

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
	if !pki.Supported(model.KeyAlgorithm(*alg)) {
		fmt.Fprintf(env.Stderr, "ignigen secrets: --key-algorithm %q: use %s\n", *alg, pki.Algorithms())
		return ExitUsage
	}
	b, err := secrets.New(model.KeyAlgorithm(*alg), env.Now())
	if err == nil {
		var data []byte
		if data, err = b.Marshal(); err == nil {
			err = output.Create(filepath.Dir(pos[1]), []output.File{{Name: filepath.Base(pos[1]), Data: data, Mode: 0o600}})
		}
	}
	// Replacing a bundle would rotate every CA: never overwrite one.
	if errors.Is(err, os.ErrExist) {
		err = fmt.Errorf("%s already exists; a new bundle means new CAs, so remove it yourself if that is what you want", pos[1])
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "ignigen secrets: %v\n", err)
		return ExitFailed
	}
	fmt.Fprintf(env.Stdout, "created %s (mode 0600); build with --secrets %s\n", pos[1], pos[1])
	return ExitOK
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
	// Renamed over the old one: a crash leaves the old bundle or the new, never half of one.
	if err := output.Replace(filepath.Dir(path), []output.File{{Name: filepath.Base(path), Data: out, Mode: 0o600}}); err != nil {
		return fail(err)
	}
	cert, _ := pki.ParseCert([]byte(b.Admin.Cert))
	fmt.Fprintf(env.Stdout, "renewed the admin certificate in %s, valid until %s; build again to refresh admin.kubeconfig\n", path, cert.NotAfter.Format(time.DateOnly))
	return ExitOK
}
