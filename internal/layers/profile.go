package layers

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/osprofile"
)

// Profile is one OS profile: its Butane layer templates and the file templates they include.
type Profile struct {
	Name      string
	templates func() (*template.Template, error) // parsed at the first Render
	digest    []byte                             // of every template's name and text, in order
	layers    map[string]bool
	sizes     map[string]*atomic.Int64 // layer -> largest render so far plus slack (Render)
}

// LoadProfile reads the templates of profile name from fsys: the OS-neutral shared/files/*, then
// the layers/*.bu and files/* of the profile its profile.yaml names in templatesFrom, then its
// own; a later template replaces an earlier one of the same name. They are parsed when the first
// layer is rendered: a rebuild whose configs all come from the build cache renders none.
func LoadProfile(fsys fs.FS, name string) (*Profile, error) {
	dirs, err := templateDirs(fsys, name)
	if err != nil {
		return nil, err
	}
	p := &Profile{Name: name, layers: map[string]bool{}, sizes: map[string]*atomic.Int64{}}
	type source struct{ name, text string }
	var srcs []source
	digest := sha256.New()
	for _, d := range dirs {
		for _, dir := range []string{"files", "layers"} {
			entries, err := fs.ReadDir(fsys, path.Join(d, dir))
			if errors.Is(err, fs.ErrNotExist) {
				continue // shared/ has no layers; a profile may add only files, or only layers (missingLayers tells)
			}
			if err != nil {
				return nil, fmt.Errorf("profile %q: %w", name, err)
			}
			for _, e := range entries {
				src, err := fs.ReadFile(fsys, path.Join(d, dir, e.Name()))
				if err != nil {
					return nil, fmt.Errorf("profile %q: %w", name, err)
				}
				srcs = append(srcs, source{dir + "/" + e.Name(), string(src)})
				fmt.Fprintf(digest, "%d:%s%d:%s", len(srcs[len(srcs)-1].name), srcs[len(srcs)-1].name, len(src), src)
				if dir == "layers" {
					p.layers[strings.TrimSuffix(e.Name(), ".bu")] = true
					p.sizes[strings.TrimSuffix(e.Name(), ".bu")] = new(atomic.Int64)
				}
			}
		}
	}
	p.digest = digest.Sum(nil)
	p.templates = sync.OnceValues(func() (*template.Template, error) {
		root := template.New(name).Option("missingkey=error")
		root.Funcs(template.FuncMap{
			"include": func(file string, data any) (string, error) {
				var b strings.Builder // String() without a copy
				if err := root.ExecuteTemplate(&b, "files/"+file, data); err != nil {
					return "", err
				}
				return b.String(), nil
			},
			"indent": indent,
			"quote":  quote,
		})
		for _, src := range srcs {
			if _, err := root.New(src.name).Parse(src.text); err != nil {
				return nil, fmt.Errorf("profile %q: %w", name, err)
			}
		}
		return root, nil
	})
	if missing := p.missingLayers(); len(missing) > 0 {
		return nil, fmt.Errorf("profile %q lacks layers/%s.bu, which the role table uses", name, strings.Join(missing, ".bu, layers/"))
	}
	return p, nil
}

// templateDirs are the directories whose templates make profile name, first to last: shared/ if
// fsys has it, the templatesFrom profile's (and its own templatesFrom, recursively), then name.
func templateDirs(fsys fs.FS, name string) ([]string, error) {
	dirs := []string{name}
	for cur := name; ; {
		if _, err := fs.Stat(fsys, path.Join(cur, osprofile.File)); err != nil {
			break // a bare template directory (tests) has no data
		}
		data, err := osprofile.Load(fsys, cur)
		if err != nil {
			return nil, err
		}
		if data.TemplatesFrom == "" {
			break
		}
		if slices.Contains(dirs, data.TemplatesFrom) {
			return nil, fmt.Errorf("profile %q: templatesFrom %q makes a cycle", name, data.TemplatesFrom)
		}
		cur = data.TemplatesFrom
		dirs = append(dirs, cur)
	}
	if _, err := fs.Stat(fsys, osprofile.SharedDir); err == nil {
		dirs = append(dirs, osprofile.SharedDir)
	}
	slices.Reverse(dirs)
	return dirs, nil
}

// missingLayers lists the layers some role's stack needs that the profile does not have, so a
// profile missing one fails when it loads, not when the first node of that role is built.
func (p *Profile) missingLayers() []string {
	need := []string{"base", "load-balancer", "node"}
	for _, ph := range []model.Phase{model.PhaseInit, model.PhaseJoinControlPlane, model.PhaseJoinWorker} {
		need = append(need, string(ph))
	}
	for _, s := range model.RoleTable {
		need = append(need, s.Layers...)
	}
	var missing []string
	for _, l := range need {
		if !p.layers[l] && !slices.Contains(missing, l) {
			missing = append(missing, l)
		}
	}
	return missing
}

// Stack names the layers that make n's config, general to specific: a later layer wins. It is
// read from the role table: what every machine gets, the role's layers, the load balancer where
// the node balances, how it joins, then the node itself. User snippets follow (Compiler.stack).
func (p *Profile) Stack(c *model.Cluster, n model.Node) []string {
	out := append([]string{"base"}, n.Role.Spec().Layers...)
	if n.Role.Balances(c.ExternalLB) {
		out = append(out, "load-balancer")
	}
	if ph := n.Phase(); ph != model.PhaseNone {
		out = append(out, string(ph))
	}
	return append(out, "node")
}

// Render executes one layer template for a node.
func (p *Profile) Render(layer string, v *View) ([]byte, error) {
	if !p.layers[layer] {
		return nil, fmt.Errorf("profile %q has no layer %q", p.Name, layer)
	}
	// A layer with inline files runs to tens of KiB: growing the buffer by doubling from
	// nothing allocates about as much again, in fresh pages. The next node's render of the
	// layer starts at the largest size seen.
	hint := p.sizes[layer]
	tmpl, err := p.templates()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(int(hint.Load()))
	if err := tmpl.ExecuteTemplate(&b, "layers/"+layer+".bu", v); err != nil {
		return nil, fmt.Errorf("layer %s: %w", layer, err)
	}
	for n := int64(b.Len()) + renderSlack; ; {
		old := hint.Load()
		if n <= old || hint.CompareAndSwap(old, n) {
			break
		}
	}
	return b.Bytes(), nil
}

// renderSlack is room for the next node's longer names and addresses.
const renderSlack = 256

// indent prefixes every non-empty line with n spaces, for inline file contents in YAML block scalars.
func indent(n int, s string) string {
	s = strings.TrimRight(s, "\n")
	var b strings.Builder // one allocation: a file's lines are not split and joined again
	b.Grow(len(s) + n*(strings.Count(s, "\n")+1))
	for first := true; ; first = false {
		line, rest, more := strings.Cut(s, "\n")
		if !first {
			b.WriteByte('\n')
		}
		if line != "" {
			for range n {
				b.WriteByte(' ')
			}
			b.WriteString(line)
		}
		if !more {
			return b.String()
		}
		s = rest
	}
}

// quote makes any string a safe YAML scalar (JSON strings are YAML double-quoted strings).
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
