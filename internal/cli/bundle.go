package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/output"
	"github.com/ignigen/ignigen/internal/secrets"
)

// SecretsFile is the bundle's name inside the output directory.
const SecretsFile = "secrets.yaml"

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
func openSecrets(env *Env, outDir, explicit string, alg model.KeyAlgorithm, tokenTTL time.Duration) (*bundleSource, error) {
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
	if !src.created {
		warnExpiredToken(env, b, path, outDir, explicit, tokenTTL, now)
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

// warnExpiredToken warns when the bundle's bootstrap token no longer lets nodes join. It is a
// warning, not an error: running nodes need no token, and the configs are still right once a
// new one is registered.
func warnExpiredToken(env *Env, b *secrets.Bundle, path, outDir, explicit string, ttl time.Duration, now time.Time) {
	at, recorded, ok := b.TokenExpiry(ttl)
	if !ok || now.Before(at) {
		return
	}
	cmd := "ignigen token create -o " + outDir
	if explicit != "" {
		cmd += " --secrets " + explicit
	}
	if recorded {
		fmt.Fprintf(env.Stderr, "warning: secrets bundle %s: the bootstrap token expired on %s; nodes that boot now cannot join: run `%s`, then build again\n", path, at.Format(time.RFC3339), cmd)
		return
	}
	// The first token's TTL runs from kubeadm init, which came after the bundle was made.
	fmt.Fprintf(env.Stderr, "warning: secrets bundle %s: the bootstrap token has probably expired: kubeadm init gave it kubernetes.tokenTTL %s, and the bundle dates from %s, so it lapsed on %s or later; if the cluster is running, nodes that boot now cannot join: run `%s`, then build again\n", path, ttl, b.CreatedAt.Format(time.RFC3339), at.Format(time.RFC3339), cmd)
}
