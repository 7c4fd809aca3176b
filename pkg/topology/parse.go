package topology

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ignigen/ignigen/pkg/model"
	"github.com/ignigen/ignigen/pkg/report"
)

// Parse decodes and validates a topology. It returns the model (nil when the report has errors),
// every diagnostic found (warnings too), and a *report.Error when the topology cannot be built.
func Parse(file string, data []byte) (*model.Cluster, report.Report, error) {
	r := report.Report{File: file}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		r.Errorf(yamlErrorPos(err), "", "fix the YAML syntax at that line", "%s", yamlErrorText(err))
		return nil, r, &report.Invalid{Report: r}
	}
	if root.Kind == 0 || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		r.Errorf(report.Pos{Line: 1, Col: 1}, "", "start from `ignigen init` output", "the file is not a YAML mapping")
		return nil, r, &report.Invalid{Report: r}
	}
	doc := root.Content[0]
	idx := newIndex(doc)

	// Unknown fields first, with their exact position and a suggestion.
	checkUnknown(&r, doc, reflect.TypeOf(File{}), "")

	var f File
	if err := doc.Decode(&f); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			r.Errorf(report.Pos{Line: 1, Col: 1}, "", "fix the YAML at that line", "%v", err)
			return nil, r, &report.Invalid{Report: r}
		}
		for _, msg := range te.Errors {
			line, text := splitLine(msg)
			path, pos := idx.atLine(line)
			r.Errorf(pos, path, "give a value of the type the reference in README.md names", "%s", text)
		}
	}
	if r.HasErrors() {
		r.Sort()
		return nil, r, &report.Invalid{Report: r}
	}

	v := validator{r: &r, idx: idx}
	c := v.cluster(&f)
	r.Sort()
	if r.HasErrors() {
		return nil, r, &report.Invalid{Report: r}
	}
	return c, r, nil
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

func yamlErrorPos(err error) report.Pos {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return report.Pos{Line: n, Col: 1}
	}
	return report.Pos{Line: 1, Col: 1}
}

func yamlErrorText(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	s = regexp.MustCompile(`^line \d+: `).ReplaceAllString(s, "")
	return "invalid YAML: " + s
}

// splitLine splits yaml.v3's "line N: message" type errors.
func splitLine(msg string) (int, string) {
	m := regexp.MustCompile(`^line (\d+): (.*)$`).FindStringSubmatch(msg)
	if m == nil {
		return 0, msg
	}
	n, _ := strconv.Atoi(m[1])
	return n, m[2]
}

// index maps field paths (cluster.name, nodes.2.ip) to where their values and keys are.
type index struct {
	values map[string]report.Pos
	keys   map[string]report.Pos
	lines  map[int]string // first value path on each line
}

func newIndex(doc *yaml.Node) *index {
	ix := &index{values: map[string]report.Pos{}, keys: map[string]report.Pos{}, lines: map[int]string{}}
	ix.walk(doc, "")
	return ix
}

func (ix *index) walk(n *yaml.Node, path string) {
	ix.values[path] = report.Pos{Line: n.Line, Col: n.Column}
	if _, ok := ix.lines[n.Line]; !ok && n.Kind == yaml.ScalarNode {
		ix.lines[n.Line] = path
	}
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
// (a missing field is reported at its parent).
func (ix *index) pos(path string) report.Pos {
	for p := path; ; {
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

func (ix *index) atLine(line int) (string, report.Pos) {
	if p, ok := ix.lines[line]; ok {
		return p, ix.values[p]
	}
	return "", report.Pos{Line: line, Col: 1}
}

// checkUnknown reports mapping keys that t (a struct with yaml tags) does not have.
func checkUnknown(r *report.Report, n *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := map[string]reflect.Type{}
		var names []string
		for i := 0; i < t.NumField(); i++ {
			name := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			fields[name] = t.Field(i).Type
			names = append(names, name)
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			if seen[k.Value] {
				r.Errorf(report.Pos{Line: k.Line, Col: k.Column}, p, "remove one of the two", "field %q is given twice", k.Value)
			}
			seen[k.Value] = true
			ft, ok := fields[k.Value]
			if !ok {
				hint := "remove it; the fields here are " + strings.Join(names, ", ")
				if s := suggest(k.Value, names); s != "" {
					hint = fmt.Sprintf("did you mean %q?", s)
				}
				r.Errorf(report.Pos{Line: k.Line, Col: k.Column}, p, hint, "unknown field %q", k.Value)
				continue
			}
			checkUnknown(r, v, ft, p)
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, c := range n.Content {
			checkUnknown(r, c, t.Elem(), join(path, strconv.Itoa(i)))
		}
	}
}

// suggest returns the known name closest to s, if it is close enough to be a typo.
func suggest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if strings.EqualFold(n, s) {
			return n
		}
		if d := distance(strings.ToLower(s), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// distance is the Levenshtein edit distance.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
