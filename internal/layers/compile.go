package layers

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	cjson "github.com/clarketm/json"
	"github.com/coreos/ignition/v2/butane/config/common"
	"github.com/coreos/ignition/v2/config/v3_4"
	"github.com/coreos/ignition/v2/config/v3_4/types"
	"github.com/coreos/ignition/v2/config/validate"

	"github.com/ignigen/ignigen/internal/cache"
	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/osprofile"
	"github.com/ignigen/ignigen/internal/secrets"
)

// Compiler turns nodes into Ignition configs. Layers whose rendered text is the same for many
// nodes (base, worker) are translated once and merged once; it is safe for concurrent use.
type Compiler struct {
	Profile *Profile
	// Cache keeps translations and configs between builds (nil: none). Set it before the
	// first Node.
	Cache   *cache.Cache
	cluster *model.Cluster
	shared  *clusterView

	translated sync.Map // sha256 of rendered Butane -> *translation
	merged     sync.Map // joined layer hashes -> types.Config
	shapes     sync.Map // hash of a stack rendered with placeholders -> *shape

	renderMu sync.Mutex
	renders  map[string][]placeholderText // stackKey -> placeholder stacks rendered (skeleton.go)

	clusterDigest func() ([]byte, error) // viewkey.go, once
	stacks        map[string]int         // stackKey -> how many of the cluster's nodes have that stack
	ordinary      bool                   // tests: compile every node without skeletons, to compare
}

// NewCompiler returns a compiler of cluster c's nodes with profile p and bundle b.
func NewCompiler(p *Profile, c *model.Cluster, b *secrets.Bundle) *Compiler {
	comp := &Compiler{Profile: p, cluster: c, shared: newClusterView(c, b), stacks: map[string]int{}}
	comp.clusterDigest = sync.OnceValues(func() ([]byte, error) { return viewDigest(c) })
	for _, n := range c.Nodes {
		comp.stacks[comp.stackKey(n)]++
	}
	return comp
}

// Node renders, translates and flattens n's layer stack and returns the validated Ignition
// config as indented JSON. Nodes whose stacks differ only in their name and addresses are filled
// into a shared skeleton instead (skeleton.go); the bytes are the same either way.
func (c *Compiler) Node(n model.Node) ([]byte, error) {
	v, err := c.shared.forNode(n)
	if err != nil {
		return nil, err
	}
	stack := c.stack(n)
	// A config is a function of its rendered stack alone (names only label errors), and that of
	// the view and the templates (viewkey.go), so one compiled by an earlier build from the same
	// view and templates is this one. Nodes that may share a skeleton are not kept one by one.
	key := c.nodeKey(n, v, stack)
	if key != nil {
		if out, ok := c.Cache.Get(nodeEntry, key...); ok {
			return out, nil
		}
	}
	srcs, err := c.render(stack, v)
	if err != nil {
		return nil, err
	}
	if out, ok := c.fromSkeleton(n, v, stack, srcs); ok {
		return out, nil
	}
	cfg, err := c.flatten(stack, srcs)
	if err != nil {
		return nil, err
	}
	out, err := finish(cfg)
	if err == nil && key != nil {
		c.Cache.Put(out, nodeEntry, key...)
	}
	return out, err
}

// nodeKey is what names n's cached config: the templates, the stack's layers and snippets, and
// the view. nil: not cached (no cache, a skeleton candidate, or a view that cannot be encoded).
func (c *Compiler) nodeKey(n model.Node, v *View, stack []stackEntry) [][]byte {
	if c.Cache == nil || c.ordinary || c.stacks[c.stackKey(n)] >= 3 {
		return nil
	}
	// Every view holds the same cluster: its digest is taken once per build.
	cluster, err := c.clusterDigest()
	if err != nil || v.Cluster != c.cluster {
		return nil
	}
	own := *v
	own.Cluster = nil
	view, err := viewDigest(&own)
	if err != nil {
		return nil
	}
	key := [][]byte{c.Profile.digest, cluster, view}
	for _, l := range stack {
		key = append(key, []byte(l.name), l.source)
	}
	return key
}

// The kinds of cache entry: a whole node's config from its view, templates and stack, one
// layer's translation from its text.
const (
	nodeEntry  = "node config v3"
	layerEntry = "butane translation v1"
)

// render gives the Butane text of every entry of a stack for view v.
func (c *Compiler) render(stack []stackEntry, v *View) ([][]byte, error) {
	srcs := make([][]byte, len(stack))
	for i, l := range stack {
		srcs[i] = l.source
		if srcs[i] == nil {
			var err error
			if srcs[i], err = c.Profile.Render(l.name, v); err != nil {
				return nil, err
			}
		}
	}
	return srcs, nil
}

// flatten translates each rendered layer and merges them in order: a function of srcs alone.
func (c *Compiler) flatten(stack []stackEntry, srcs [][]byte) (types.Config, error) {
	var cfg types.Config
	var key strings.Builder
	for i, l := range stack {
		src := srcs[i]
		sum := sha256.Sum256(src)
		key.Write(sum[:])
		if m, ok := c.merged.Load(key.String()); ok {
			cfg = m.(types.Config)
			continue
		}
		layerCfg, err := c.translate(l.name, src, sum)
		if err != nil {
			return types.Config{}, err
		}
		if i == 0 {
			cfg = layerCfg
		} else {
			// v3_4.Merge lets the child win: files by path, units by name.
			cfg = v3_4.Merge(cfg, layerCfg)
		}
		// The whole stack's merge is this node's alone (its name is in it): keeping it would hold
		// every node's config in memory until the build ends.
		if i < len(stack)-1 {
			c.merged.Store(key.String(), cfg)
		}
	}
	return cfg, nil
}

// stackEntry is one entry of a node's stack: a profile template, or an operator's snippet (source set).
type stackEntry struct {
	name   string
	source []byte
}

// stackKey names the entries of n's stack.
func (c *Compiler) stackKey(n model.Node) string {
	var b strings.Builder
	for _, l := range c.stack(n) {
		b.WriteString(l.name)
		b.WriteByte(0)
	}
	return b.String()
}

// stack is the profile's layers for n, then the snippets that select n, in topology order.
func (c *Compiler) stack(n model.Node) []stackEntry {
	var out []stackEntry
	for _, name := range c.Profile.Stack(c.cluster, n) {
		out = append(out, stackEntry{name: name})
	}
	for _, s := range c.cluster.Snippets {
		if s.AppliesTo(n) {
			out = append(out, stackEntry{name: "snippet " + s.File, source: s.Source})
		}
	}
	return out
}

// translate gives the Ignition config of one rendered layer. Each distinct text is translated
// once per build: a worker that needs a text another is translating waits for it.
func (c *Compiler) translate(layer string, src []byte, sum [32]byte) (types.Config, error) {
	e, _ := c.translated.LoadOrStore(sum, &translation{})
	t := e.(*translation)
	t.once.Do(func() { t.cfg, t.err = c.translateNew(layer, src) })
	return t.cfg, t.err
}

// translation is one layer text's translation, made once.
type translation struct {
	once sync.Once
	cfg  types.Config
	err  error
}

func (c *Compiler) translateNew(layer string, src []byte) (types.Config, error) {
	if out, ok := c.Cache.Get(layerEntry, src); ok {
		if cfg, err := c.decode(layer, out); err == nil {
			return cfg, nil
		}
	}
	opts := common.TranslateBytesOptions{TranslateOptions: common.TranslateOptions{NoResourceAutoCompression: true}, Raw: true}
	// The document's own variant/version picks the translator, so a profile for another OS
	// (fcos 1.5.0, say) needs no code; every layer must land on Ignition 3.4.0 to be merged.
	out, rep, err := osprofile.Translate(src, opts)
	// Strict: a Butane warning in our own templates is a bug, not something to ship.
	if err != nil || len(rep.Entries) > 0 {
		return types.Config{}, fmt.Errorf("layer %s of profile %s: Butane: %v\n%s", layer, c.Profile.Name, err, numbered(src, rep.String()))
	}
	cfg, err := c.decode(layer, out)
	if err == nil {
		c.Cache.Put(out, layerEntry, src)
	}
	return cfg, err
}

// decode reads a layer's translation, fresh from Butane or from the cache.
func (c *Compiler) decode(layer string, out []byte) (types.Config, error) {
	var cfg types.Config
	if err := json.Unmarshal(out, &cfg); err != nil {
		return types.Config{}, fmt.Errorf("layer %s: %w", layer, err)
	}
	if cfg.Ignition.Version != types.MaxVersion.String() {
		return types.Config{}, fmt.Errorf("layer %s of profile %s translates to Ignition %s; layers must use a Butane version that gives %s (flatcar 1.1.0, fcos 1.5.0)", layer, c.Profile.Name, cfg.Ignition.Version, types.MaxVersion)
	}
	return cfg, nil
}

// finish marshals the flattened config and checks it with Ignition's own parser: a merge of
// valid layers can still be invalid (two files claiming one path as file and directory, ...).
func finish(cfg types.Config) ([]byte, error) {
	cfg = dropEmptyCompression(cfg)
	out, err := marshal(cfg)
	if err != nil {
		return nil, err
	}
	// Validating the struct that was just marshalled is what v3_4.Parse(out) would do, less
	// decoding the JSON twice (a third of a node's time): unknown keys cannot occur.
	if rep := validate.ValidateWithContext(cfg, nil); len(rep.Entries) > 0 {
		return nil, fmt.Errorf("flattened config fails Ignition validation: %s", rep.String())
	}
	return out, nil
}

// marshal is the build's encoding of a config: indented JSON and a final newline.
func marshal(cfg types.Config) ([]byte, error) {
	out, err := cjson.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// dropEmptyCompression returns cfg without the empty compression Butane marks uncompressed
// inline contents with: noise in the output. cfg's own files are left alone.
func dropEmptyCompression(cfg types.Config) types.Config {
	files := make([]types.File, len(cfg.Storage.Files))
	for i, f := range cfg.Storage.Files {
		if f.Contents.Compression != nil && *f.Contents.Compression == "" {
			f.Contents.Compression = nil
		}
		files[i] = f
	}
	cfg.Storage.Files = files
	return cfg
}

// numbered prefixes a rendered layer with line numbers so Butane's line:col markers can be found.
func numbered(src []byte, report string) string {
	var b strings.Builder
	b.WriteString(report)
	b.WriteString("\nrendered layer:\n")
	for i, l := range strings.Split(string(src), "\n") {
		fmt.Fprintf(&b, "%4d  %s\n", i+1, l)
	}
	return b.String()
}
