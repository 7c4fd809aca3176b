package topology

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/coreos/ignition/v2/butane/config/common"
	"gopkg.in/yaml.v3"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/osprofile"
	"github.com/ignigen/ignigen/internal/report"
)

// snippets reads and checks the operator's own Butane files: they must exist, use the profile's
// Butane variant and version, translate with no report entry and select real nodes. A problem in a
// snippet is reported at its place in the snippet and, summed up, at the snippets[].file entry.
func (v *validator) snippets(specs []SnippetSpec, c *model.Cluster) []model.Snippet {
	names := map[string]bool{}
	for _, n := range c.Nodes {
		names[n.Name] = true
	}
	var out []model.Snippet
	for i, s := range specs {
		p := fmt.Sprintf("snippets.%d", i)
		sn := model.Snippet{File: s.File}
		for j, r := range s.Roles {
			if model.Role(r).Valid() {
				sn.Roles = append(sn.Roles, model.Role(r))
			} else {
				v.errorf(fmt.Sprintf("%s.roles.%d", p, j), "use "+roleList()+", or omit roles for every node", "unknown role %q", r)
			}
		}
		for j, n := range s.Nodes {
			if !names[n] {
				v.errorf(fmt.Sprintf("%s.nodes.%d", p, j), "name a node listed under nodes:", "no node is called %q", n)
			}
			sn.Nodes = append(sn.Nodes, n)
		}
		if s.File == "" {
			v.errorf(p+".file", fmt.Sprintf("give the path of a Butane file (variant %s, version %s), relative to the topology", c.OS.Butane.Variant, c.OS.Butane.Version), "snippet has no file")
			continue
		}
		path := s.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(v.dir, path)
		}
		src, err := os.ReadFile(path)
		if err != nil {
			v.errorf(p+".file", "check the path; it is relative to the topology file", "cannot read snippet: %v", err)
			continue
		}
		if c.OS.Name != c.Profile {
			continue // cluster.profile is reported already
		}
		want := butaneVersion(c.OS.Butane)
		if problems := checkSnippet(src, want); len(problems) > 0 {
			for _, pr := range problems {
				v.r.Add(report.Entry{Severity: report.Error, File: path, Pos: pr.pos, Message: pr.msg, Hint: pr.hint})
			}
			first := problems[0]
			more := ""
			if len(problems) > 1 {
				more = fmt.Sprintf(" (and %d more)", len(problems)-1)
			}
			v.errorf(p+".file", first.topologyHint(), "snippet %s:%d:%d: %s%s", path, first.pos.Line, first.pos.Col, first.msg, more)
			continue
		}
		sn.Source = src
		out = append(out, sn)
	}
	return out
}

// butaneVersion is the Butane variant and version the profile's layers are written in
// (profile.yaml's butane). A snippet must use the same: an fcos 1.5.0 snippet also gives Ignition
// 3.4.0, but its sugar means Fedora CoreOS things (a boot_device mirror repartitions the named
// disks) on a Flatcar node.
type butaneVersion osprofile.Butane

func (b butaneVersion) String() string { return b.Variant + " " + b.Version }

// snippetProblem is one thing wrong in a snippet, at its 1-based position in the snippet.
type snippetProblem struct {
	pos       report.Pos
	msg, hint string
	variant   bool // the variant or version is wrong: say so at the snippets[].file entry too
}

// topologyHint is what the topology's snippets[].file entry says to do about the problem.
func (p snippetProblem) topologyHint() string {
	if p.variant {
		return p.hint
	}
	return "fix the snippet; it must be valid Butane with no warnings"
}

var yamlTypeErrorRE = regexp.MustCompile("^line (\\d+): cannot unmarshal !!\\w+ `([^`]*)`")

// checkSnippet reads src the way the layer compiler will and returns every problem, each at its
// place in the snippet: YAML syntax, the variant and version, Butane's own report, and type errors.
func checkSnippet(src []byte, want butaneVersion) []snippetProblem {
	start := report.Pos{Line: 1, Col: 1}
	header := fmt.Sprintf("start the snippet with `variant: %s` and `version: %s`, the profile's Butane", want.Variant, want.Version)
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		pos, msg, hint := syntaxError(src, err)
		return []snippetProblem{{pos: pos, msg: msg, hint: hint}}
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return []snippetProblem{{pos: start, msg: "the snippet is not a mapping of Butane fields", hint: header}}
	}
	doc := root.Content[0]
	variant, version := mappingValue(doc, "variant"), mappingValue(doc, "version")
	switch {
	case variant == nil || version == nil:
		return []snippetProblem{{pos: start, msg: "the snippet has no variant or version", hint: header, variant: true}}
	case variant.Value != want.Variant || version.Value != want.Version:
		return []snippetProblem{{
			pos:     report.Pos{Line: variant.Line, Col: variant.Column},
			msg:     fmt.Sprintf("Butane %s %s is not the cluster profile's %s", variant.Value, version.Value, want),
			hint:    fmt.Sprintf("write `variant: %s` and `version: %s`; other variants mean other things on this OS", want.Variant, want.Version),
			variant: true,
		}}
	}

	_, rep, err := osprofile.Translate(src, common.TranslateBytesOptions{Raw: true})
	var out []snippetProblem
	for _, e := range rep.Entries {
		line, col := e.Marker.Start()
		out = append(out, snippetProblem{
			pos:  report.Pos{Line: max(int(line), 1), Col: max(int(col), 1)},
			msg:  fmt.Sprintf("%s (Butane %s)", e.Message, e.Kind),
			hint: "fix it: ignigen takes a snippet only if Butane reports nothing about it",
		})
	}
	if err == nil || len(out) > 0 {
		return out
	}
	// Butane decodes with yaml.v3: its type errors are "line N: cannot unmarshal ..." (1-based),
	// one per line of the error text, and name no column.
	for _, line := range strings.Split(err.Error(), "\n") {
		m := yamlTypeErrorRE.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		out = append(out, snippetProblem{
			pos:  scalarPos(doc, n, m[2]),
			msg:  strings.TrimPrefix(strings.TrimSpace(line), "line "+m[1]+": "),
			hint: "give a value of the type the Butane " + want.String() + " specification names",
		})
	}
	if len(out) == 0 {
		out = append(out, snippetProblem{pos: start, msg: strings.ReplaceAll(err.Error(), "\n", " "), hint: "fix the snippet; it must be valid Butane"})
	}
	return out
}

// mappingValue returns the value of key in a mapping node, or nil.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// scalarPos finds the scalar on line whose value a yaml.v3 type error quotes (it shortens long
// values to their first 7 characters and "..."), else the line's start.
func scalarPos(n *yaml.Node, line int, quoted string) report.Pos {
	prefix := strings.TrimSuffix(quoted, "...")
	var found *yaml.Node
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if found != nil {
			return
		}
		if n.Kind == yaml.ScalarNode && n.Line == line && strings.HasPrefix(n.Value, prefix) {
			found = n
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	if found == nil {
		return report.Pos{Line: line, Col: 1}
	}
	return report.Pos{Line: found.Line, Col: found.Column}
}
