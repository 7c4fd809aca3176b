package build

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"runtime"
	"sync"

	"github.com/ignigen/ignigen/internal/cache"
	"github.com/ignigen/ignigen/internal/kubeconfig"
	"github.com/ignigen/ignigen/internal/layers"
	"github.com/ignigen/ignigen/internal/manifest"
	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/osprofile"
	"github.com/ignigen/ignigen/internal/output"
	"github.com/ignigen/ignigen/internal/secrets"
	"github.com/ignigen/ignigen/internal/vm"
)

// The manifest's types live in package manifest, shared with serve and the matchbox export.
type (
	NodeSummary = manifest.NodeSummary
	Manifest    = manifest.Manifest
	PXE         = manifest.PXE
)

// Result is everything a build writes.
type Result struct {
	Files    []output.File
	Manifest Manifest
}

// Output file names.
const (
	KubeconfigFile = "admin.kubeconfig"
	ManifestFile   = output.Marker
)

// Build compiles every node in parallel. Output depends only on c and b: same inputs, same bytes.
func Build(c *model.Cluster, b *secrets.Bundle, profiles fs.FS) (*Result, error) {
	return BuildCached(c, b, profiles, nil)
}

// BuildCached is Build that reuses, and keeps in cache, what earlier builds translated and
// compiled; the bytes are the same with or without it.
func BuildCached(c *model.Cluster, b *secrets.Bundle, profiles fs.FS, cache *cache.Cache) (*Result, error) {
	p, err := layers.LoadProfile(profiles, c.Profile)
	if err != nil {
		return nil, err
	}
	comp := layers.NewCompiler(p, c, b)
	comp.Cache = cache
	configs := make([][]byte, len(c.Nodes))
	errs := make([]error, len(c.Nodes))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				configs[i], errs[i] = comp.Node(c.Nodes[i])
			}
		}()
	}
	for i := range c.Nodes {
		next <- i
	}
	close(next)
	wg.Wait()

	res := &Result{Manifest: Manifest{Cluster: c.Name, Endpoint: c.Endpoint.URL()}}
	for i, n := range c.Nodes {
		if errs[i] != nil {
			return nil, fmt.Errorf("node %q: %w", n.Name, errs[i])
		}
		name := n.Name + ".ign"
		// Control-plane configs carry CA keys; worker configs carry the bootstrap token.
		res.Files = append(res.Files, output.File{Name: name, Data: configs[i], Mode: 0o600})
		sum := sha256.Sum256(configs[i])
		res.Manifest.Nodes = append(res.Manifest.Nodes, NodeSummary{
			Name: n.Name, Role: string(n.Role), Phase: string(n.Phase()), IP: n.IP.String(), MAC: n.MAC,
			File: name, Bytes: len(configs[i]), SHA256: hex.EncodeToString(sum[:]), Priority: n.Priority,
		})
	}
	// The admin client certificate (group kubeadm:cluster-admins, not system:masters) talks to the VIP.
	kc, err := kubeconfig.Marshal(c.Name, secrets.AdminUser, kubeconfig.Credentials{
		Server: c.Endpoint.URL(), CA: []byte(b.CAs["ca"].Cert), Cert: []byte(b.Admin.Cert), Key: []byte(b.Admin.Key),
	})
	if err != nil {
		return nil, err
	}
	res.Files = append(res.Files, output.File{Name: KubeconfigFile, Data: kc, Mode: 0o600})
	res.Files = append(res.Files, vm.Files(c, func(n model.Node) string { return n.Name + ".ign" })...)
	res.Manifest.Membership = newMembership(c, b)
	if c.Profile != osprofile.Default {
		res.Manifest.Profile = c.Profile // absent means the default: older manifests read the same
	}
	res.Manifest.PXE = &PXE{KernelURL: c.PXE.KernelURL, InitrdURLs: nonNil(c.PXE.InitrdURLs), ExtraArgs: nonNil(c.PXE.ExtraArgs)}
	m, err := json.MarshalIndent(res.Manifest, "", "  ")
	if err != nil {
		return nil, err
	}
	res.Files = append(res.Files, output.File{Name: ManifestFile, Data: append(m, '\n'), Mode: 0o644})
	return res, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
