package topology

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ignigen/ignigen/internal/report"
)

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
		if scalarFits(n, t) {
			return
		}
		quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
		switch t.Kind() {
		case reflect.Bool:
			r.Errorf(pos, path, "write true or false, without quotes", "%q is not true or false", n.Value)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			hint := integerHint(n, quoted)
			r.Errorf(pos, path, hint, "%q is not a whole number", n.Value)
		default:
			r.Errorf(pos, path, "quote the value", "%q cannot be read as %s", n.Value, t.Kind())
		}
	}
}

// scalarFits reports whether the scalar n decodes into a t. yaml.v3 truncates a float such as
// 6443.9 into an integer field without complaint, and reads "yes", "on" and even the quoted
// string "yes" as true, so an integer field takes only integers and a boolean only true or false.
func scalarFits(n *yaml.Node, t reflect.Type) bool {
	if isInteger(t.Kind()) && n.ShortTag() == "!!float" {
		return false
	}
	if t.Kind() == reflect.Bool && n.ShortTag() != "!!bool" {
		return false
	}
	return n.Decode(reflect.New(t).Interface()) == nil
}

// integerHint says how to fix a value an integer field refused.
func integerHint(n *yaml.Node, quoted bool) string {
	switch {
	case quoted:
		if _, err := strconv.Atoi(n.Value); err == nil {
			return "remove the quotes: a quoted number is a string"
		}
	case n.ShortTag() == "!!float":
		return "write a whole number, without a fraction or exponent"
	}
	return "write a whole number, without quotes or units"
}

// isInteger reports whether k is one of Go's integer kinds.
func isInteger(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Uint64
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
