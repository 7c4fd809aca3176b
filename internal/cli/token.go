package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/ignigen/ignigen/internal/build"
	"github.com/ignigen/ignigen/internal/kubeapi"
	"github.com/ignigen/ignigen/internal/kubeconfig"
	"github.com/ignigen/ignigen/internal/output"
	"github.com/ignigen/ignigen/internal/secrets"
)

// DefaultTokenTTL is kubeadm token create's default: long enough for a day of late joins.
const DefaultTokenTTL = 24 * time.Hour

// tokenDescription is what `kubeadm token list` shows for tokens this command made.
const tokenDescription = "ignigen token create: bootstrap token for nodes joining late"

func runToken(env *Env, args []string) int {
	fs := flags("token")
	ttl := fs.Duration("ttl", DefaultTokenTTL, "how long the new token lets nodes join (a positive duration; no eternal tokens)")
	outDir := fs.StringP("output", "o", "out", "build output directory whose secrets.yaml and admin.kubeconfig to use")
	secretsPath := fs.String("secrets", "", "secrets bundle to store the token in (default: DIR/secrets.yaml)")
	kcPath := fs.String("kubeconfig", "", "kubeconfig of a cluster admin (default: DIR/admin.kubeconfig)")
	pos, code, done := parse(env, fs, "token", args, 1)
	if done {
		return code
	}
	if pos[0] != "create" {
		fmt.Fprintf(env.Stderr, "ignigen token: unknown action %q; use `ignigen token create`\n", pos[0])
		return ExitUsage
	}
	// A token that never expires lets anyone who ever read a node config join nodes forever.
	if *ttl <= 0 {
		fmt.Fprintf(env.Stderr, "ignigen token create: --ttl %s: give a positive duration such as 24h; ignigen makes no token that never expires\n", *ttl)
		return ExitUsage
	}
	path := *secretsPath
	if path == "" {
		path = filepath.Join(*outDir, SecretsFile)
	}
	kc := *kcPath
	if kc == "" {
		kc = filepath.Join(*outDir, build.KubeconfigFile)
	}
	if err := createToken(env, path, kc, *ttl); err != nil {
		fmt.Fprintf(env.Stderr, "ignigen token create: %v\n", err)
		return ExitFailed
	}
	return ExitOK
}

// createToken registers a new token in the cluster first and stores it in the bundle only once
// the API server has accepted it: a failure leaves the bundle as it was.
func createToken(env *Env, path, kcPath string, ttl time.Duration) error {
	now := env.Now()
	b, _, err := secrets.Load(path, now)
	switch {
	case secrets.IsLooseMode(err):
		fmt.Fprintf(env.Stderr, "warning: %v (the rewritten bundle will be 0600)\n", err)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("token: secrets bundle %s does not exist; name the cluster's bundle with --secrets FILE or -o DIR", path)
	case err != nil:
		return fmt.Errorf("token: %w", err)
	}
	data, err := os.ReadFile(kcPath)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	creds, err := kubeconfig.Parse(data)
	if err != nil {
		return fmt.Errorf("token: kubeconfig %s: %w", kcPath, err)
	}
	client, err := kubeapi.New(creds, env.Dial)
	if err != nil {
		return fmt.Errorf("token: kubeconfig %s: %w", kcPath, err)
	}
	tok, err := secrets.NewToken(rand.Reader)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	expires := now.Add(ttl).UTC().Truncate(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id := secrets.TokenID(tok)
	if err := client.CreateBootstrapToken(ctx, tok, expires, tokenDescription); err != nil {
		return fmt.Errorf("token: registering it with %s: %w (the bundle %s is unchanged)", creds.Server, err, path)
	}
	if err := b.SetToken(tok, expires); err != nil {
		return fmt.Errorf("token: %w", err)
	}
	out, err := b.Marshal()
	if err == nil {
		// Renamed over the old one: a crash leaves the old bundle or the new, never half of one.
		err = output.Replace(filepath.Dir(path), []output.File{{Name: filepath.Base(path), Data: out, Mode: 0o600}})
	}
	if err != nil {
		return fmt.Errorf("token: %s was registered but could not be stored, so the bundle %s still holds the old token (%s expires unused on %s; run the command again): %w", id, path, id, expires.Format(time.RFC3339), err)
	}
	fmt.Fprintf(env.Stdout, "registered bootstrap token %s (Secret kube-system/bootstrap-token-%s), valid until %s\n", id, id, expires.Format(time.RFC3339))
	fmt.Fprintf(env.Stdout, "stored in %s (mode 0600); build again with this bundle so that nodes booting from now on join with it (running nodes need nothing)\n", path)
	return nil
}
