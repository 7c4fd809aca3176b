package topology

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/report"
)

// Parse decodes and validates a topology. It returns the model (nil when the report has errors),
// every diagnostic found (warnings too), and a *report.Invalid when the topology cannot be built.
func Parse(file string, data []byte) (*model.Cluster, report.Report, error) {
	r := report.Report{File: file}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		msg, hint := yamlErrorText(err)
		tab := strings.Contains(msg, "tab character") || strings.Contains(msg, "cannot start any token")
		pos, atTab := syntaxPos(data, yamlErrorLine(err), tab)
		if atTab {
			hint = yamlTabHint
		}
		r.Errorf(pos, "", hint, "%s", msg)
		return nil, r, &report.Invalid{Report: r}
	}
	if root.Kind == 0 || len(root.Content) == 0 || root.Content[0].Tag == "!!null" {
		r.Errorf(report.Pos{Line: 1, Col: 1}, "", "start from `ignigen init` output", "the file is empty")
		return nil, r, &report.Invalid{Report: r}
	}
	if n := root.Content[0]; n.Kind != yaml.MappingNode {
		r.Errorf(report.Pos{Line: n.Line, Col: n.Column}, "", "start from `ignigen init` output: a mapping of apiVersion, kind, cluster, nodes and so on", "the file is %s, not a mapping of fields", describe(n))
		return nil, r, &report.Invalid{Report: r}
	}
	doc := root.Content[0]
	idx := newIndex(doc)

	// Unknown fields and values of the wrong type, each at its exact position, all of them.
	checkShape(&r, doc, reflect.TypeOf(File{}), "")
	if r.HasErrors() {
		r.Sort()
		return nil, r, &report.Invalid{Report: r}
	}

	var f File
	if err := doc.Decode(&f); err != nil {
		// checkShape has accepted every field and value, so this is a bug in checkShape.
		return nil, r, fmt.Errorf("decoding %s after its shape check passed: %w", file, err)
	}

	v := validator{r: &r, idx: idx, dir: filepath.Dir(file)}
	c := v.cluster(&f)
	r.Sort()
	if r.HasErrors() {
		return nil, r, &report.Invalid{Report: r}
	}
	return c, r, nil
}

// syntaxPos finds where a YAML syntax error is. yaml.v3 names only a line, and not reliably: for
// parser errors the (0-based) line where the enclosing construct began, for an unclosed quote the
// end of the file. The error is just past the longest prefix of the file that still parses: first
// the longest prefix of whole lines, then the longest prefix of the next line (with its open
// brackets closed, so that "[1, x" is fine up to where it goes wrong). reported is yaml.v3's line:
// prefixes that reach past it are taken to fail, which keeps this to a few parses on large files.
//
// With tab set (the error may be about a tab), a tab in the line's indentation is the position,
// and atTab says so.
func syntaxPos(data []byte, reported int, tab bool) (pos report.Pos, atTab bool) {
	parses := func(b []byte) bool {
		var n yaml.Node
		return yaml.Unmarshal(b, &n) == nil
	}
	starts := []int{0}
	for i, c := range data {
		if c == '\n' && i+1 < len(data) {
			starts = append(starts, i+1)
		}
	}
	starts = append(starts, len(data))
	lines := len(starts) - 1
	good := 0 // the first good lines parse
	for n := min(reported+1, lines-1); n > 0; n-- {
		if parses(data[:starts[n]]) {
			good = n
			break
		}
	}
	base, line := data[:starts[good]], data[starts[good]:starts[good+1]]
	line = bytes.TrimRight(line, "\r\n")
	indent := len(line) - len(bytes.TrimLeft(line, " \t"))
	if i := bytes.IndexByte(line[:indent], '\t'); tab && i >= 0 {
		return report.Pos{Line: good + 1, Col: i + 1}, true
	}
	_, _, comment := openFlow(line)
	line = bytes.TrimRight(line[:comment], " \t")
	col := 0
	buf := append([]byte{}, base...)
	for c := 1; c <= len(line); c++ {
		if c < len(line) && !utf8.RuneStart(line[c]) {
			continue
		}
		closer, _, _ := openFlow(line[:c])
		if parses(append(append(buf[:len(base)], line[:c]...), closer...)) {
			col = c
		}
	}
	if c := bytes.LastIndex(line[:col], []byte(": ")); col < len(line) && line[col] == ':' && c < 0 {
		// A key where a value's continuation was expected (mapping values are not allowed here):
		// the key is misplaced, not its colon.
		col = len(line) - len(bytes.TrimLeft(line, " "))
	}
	if col == len(line) {
		// The line is fine once its brackets are closed: point at the bracket left open.
		if _, open, _ := openFlow(line); open >= 0 {
			col = open
		}
	}
	return report.Pos{Line: good + 1, Col: utf8.RuneCount(line[:col]) + 1}, false
}

// openFlow returns what closes the flow brackets still open at the end of s (a line, read
// roughly as YAML: quotes and comments skipped), the offset of the innermost one (-1: none), and
// where a comment starts (len(s): none).
func openFlow(s []byte) (closer []byte, innermost, comment int) {
	var stack []int
	var quote byte
	comment = len(s)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if quote != 0 {
			switch {
			case quote == '"' && ch == '\\':
				i++
			case ch == quote:
				quote = 0
			}
			continue
		}
		start := i == 0 || bytes.IndexByte([]byte(" \t[{,:"), s[i-1]) >= 0
		switch {
		case ch == '#' && start:
			comment, i = i, len(s)
		case (ch == '"' || ch == '\'') && start:
			quote = ch
		case (ch == '[' || ch == '{') && (start || len(stack) > 0):
			stack = append(stack, i)
		case (ch == ']' || ch == '}') && len(stack) > 0 && s[stack[len(stack)-1]] == map[byte]byte{']': '[', '}': '{'}[ch]:
			stack = stack[:len(stack)-1]
		}
	}
	innermost = -1
	for j := len(stack) - 1; j >= 0; j-- {
		closer = append(closer, map[byte]byte{'[': ']', '{': '}'}[s[stack[j]]])
	}
	if len(stack) > 0 {
		innermost = stack[len(stack)-1]
	}
	return closer, innermost, comment
}

var yamlLinePrefixRE = regexp.MustCompile(`^line (\d+): `)

// yamlErrorLine returns the line yaml.v3 names in a syntax error, or a large number if none.
func yamlErrorLine(err error) int {
	m := yamlLinePrefixRE.FindStringSubmatch(strings.TrimPrefix(err.Error(), "yaml: "))
	if m == nil {
		return 1 << 30
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// yamlErrorText turns a yaml.v3 syntax error into a message (without its unreliable line) and a hint.
func yamlErrorText(err error) (msg, hint string) {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	s = yamlLinePrefixRE.ReplaceAllString(s, "")
	hint = "fix the YAML syntax here"
	for _, h := range yamlHints {
		if strings.Contains(s, h[0]) {
			hint = h[1]
			break
		}
	}
	return "invalid YAML: " + s, hint
}

const yamlTabHint = "indent with spaces: YAML forbids tabs in indentation"

var yamlHints = [][2]string{
	{"tab character", yamlTabHint},
	{"mapping values are not allowed", "line this key up with the keys above it, or quote a value that contains ': '"},
	{"did not find expected key", "line this up with the keys above it, or quote a value that starts with a special character"},
	{"did not find expected ',' or ']'", "close the list with ']' and separate its items with ','"},
	{"did not find expected ',' or '}'", "close the mapping with '}' and separate its fields with ','"},
	{"did not find expected '-' indicator", "line the list items up under each other, each starting with '- '"},
	{"found unexpected end of stream", "close the quote or bracket opened here"},
	{"found character that cannot start any token", "quote the value: it starts with a character YAML reserves, such as @ or `"},
	{"could not find expected ':'", "write `key: value`, with a space after the colon"},
	{"did not find expected node content", "give a value here, quoted if it starts with a special character"},
}

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

// checkShape reports mapping keys that t (a struct with yaml tags) does not have, keys given twice,
// and values whose kind or type does not fit the field, each at the offending key or value.
func checkShape(r *report.Report, n *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // unset: the default applies
	}
	pos := report.Pos{Line: n.Line, Col: n.Column}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		// The type reads itself: only it knows what it accepts.
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			r.Errorf(pos, path, "see the topology reference in README.md", "%s", strings.TrimPrefix(yamlLinePrefixRE.ReplaceAllString(strings.TrimPrefix(err.Error(), "yaml: "), ""), "unmarshal errors:\n  "))
		}
		return
	}
	switch t.Kind() {
	case reflect.Interface:
		return
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			r.Errorf(pos, path, "indent its entries under it, one `key: value` per line", "expected a mapping, found %s", describe(n))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			checkShape(r, n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))
		}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			r.Errorf(pos, path, "indent its fields under it, one `field: value` per line, as `ignigen init` shows", "expected a mapping of fields, found %s", describe(n))
			return
		}
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
			kpos := report.Pos{Line: k.Line, Col: k.Column}
			ft, ok := fields[k.Value]
			if !ok {
				hint := "remove it; the fields here are " + strings.Join(names, ", ")
				if s := suggest(k.Value, names); s != "" {
					hint = fmt.Sprintf("did you mean %q?", s)
				}
				r.Errorf(kpos, p, hint, "unknown field %q", k.Value)
				continue
			}
			if seen[k.Value] {
				r.Errorf(kpos, p, "remove one of the two", "field %q is given twice", k.Value)
				continue
			}
			seen[k.Value] = true
			checkShape(r, v, ft, p)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			r.Errorf(pos, path, "write a list: `[a, b]`, or one `- item` per line", "expected a list, found %s", describe(n))
			return
		}
		for i, c := range n.Content {
			checkShape(r, c, t.Elem(), join(path, strconv.Itoa(i)))
		}
	default:
		if n.Kind != yaml.ScalarNode {
			r.Errorf(pos, path, "write a single value after the colon, quoted if it contains ': ' or starts with '[' or '{'", "expected a single value, found %s", describe(n))
			return
		}
		if err := n.Decode(reflect.New(t).Interface()); err == nil {
			return
		}
		quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
		switch t.Kind() {
		case reflect.Bool:
			r.Errorf(pos, path, "write true or false, without quotes", "%q is not true or false", n.Value)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			hint := "write a whole number, without quotes or units"
			if _, err := strconv.Atoi(n.Value); err == nil && quoted {
				hint = "remove the quotes: a quoted number is a string"
			}
			r.Errorf(pos, path, hint, "%q is not a whole number", n.Value)
		default:
			r.Errorf(pos, path, "quote the value", "%q cannot be read as %s", n.Value, t.Kind())
		}
	}
}

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// describe names a YAML node's kind for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "something else"
}

// suggest returns the known name closest to s, if it is close enough to be a typo.
func suggest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if strings.EqualFold(n, s) {
			return n
		}
		// At most two edits, and fewer in short names: "a" is no typo of "vm".
		if d := distance(strings.ToLower(s), strings.ToLower(n)); d < bestD && 3*d <= len(s) {
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
