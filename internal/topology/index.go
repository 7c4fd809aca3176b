package topology

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ignigen/ignigen/internal/report"
)

// index maps field paths (cluster.name, nodes.2.ip) to where their values and keys are.
type index struct {
	values map[string]report.Pos
	keys   map[string]report.Pos
}

func newIndex(doc *yaml.Node) *index {
	ix := &index{values: map[string]report.Pos{}, keys: map[string]report.Pos{}}
	ix.walk(doc, "")
	return ix
}

func (ix *index) walk(n *yaml.Node, path string) {
	ix.values[path] = report.Pos{Line: n.Line, Col: n.Column}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			ix.keys[p] = report.Pos{Line: k.Line, Col: k.Column}
			ix.walk(v, p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			ix.walk(c, join(path, strconv.Itoa(i)))
		}
	}
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// pos returns where path's value is, or the nearest enclosing field that exists
// (a missing field is reported at its parent's key, e.g. `network:` for a missing network.gateway).
func (ix *index) pos(path string) report.Pos {
	if pos, ok := ix.values[path]; ok {
		return pos
	}
	for p := path; ; {
		if pos, ok := ix.keys[p]; ok {
			return pos
		}
		if pos, ok := ix.values[p]; ok {
			return pos
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			if pos, ok := ix.values[""]; ok {
				return pos
			}
			return report.Pos{Line: 1, Col: 1}
		}
		p = p[:i]
	}
}

// has reports whether path is written in the file.
func (ix *index) has(path string) bool { _, ok := ix.values[path]; return ok }

// Locator returns where each field path of the topology text is (as diagnostics report it), for
// checks that run after Parse, such as a rebuild's comparison with the running cluster.
func Locator(data []byte) func(path string) report.Pos {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil || len(root.Content) == 0 {
		return func(string) report.Pos { return report.Pos{Line: 1, Col: 1} }
	}
	return newIndex(root.Content[0]).pos
}
