package topology

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// compileSchema compiles Schema() with a real draft 2020-12 validator.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw, err := Schema()
	require.NoError(t, err)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	require.NoError(t, c.AddResource(SchemaFile, doc))
	s, err := c.Compile(SchemaFile)
	require.NoError(t, err)
	return s
}

// yamlInstance turns YAML into the JSON value an editor's YAML server validates: YAML 1.2
// core types, aliases resolved.
func yamlInstance(data []byte) (any, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	if len(root.Content) == 0 {
		return nil, nil
	}
	return nodeValue(root.Content[0])
}

func nodeValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.AliasNode:
		return nodeValue(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := nodeValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := []any{}
		for _, c := range n.Content {
			v, err := nodeValue(c)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	}
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, err
		}
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return json.Number(fmt.Sprint(v)), nil
	}
	return n.Value, nil
}

func validateYAML(s *jsonschema.Schema, data []byte) error {
	inst, err := yamlInstance(data)
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

func TestSchemaAcceptsGoodTopologies(t *testing.T) {
	s := compileSchema(t)
	files, err := filepath.Glob("../../testdata/*/topology.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	inputs := map[string][]byte{"ignigen init": Example}
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		inputs[f] = data
	}
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) {
			_, r, err := Parse(name, data)
			require.NoError(t, err, "the parser must accept it first: %s", r.String())
			assert.NoError(t, validateYAML(s, data))
		})
	}
}

// schemaVerdicts classifies every case of testdata/invalid: "shape" (an unknown field, a wrong
// type, a value outside an enum) and "missing" (a required field absent) must be rejected by
// the schema; "semantic" (a value of the right type the parser refuses, e.g. an overlap) and
// "syntax" (not YAML at all) are the parser's alone, and the schema accepts the first.
var schemaVerdicts = map[string]string{
	"duplicate-key":             "semantic", // YAML servers and the parser flag it; JSON has no duplicate keys
	"many-errors":               "semantic",
	"missing-fields":            "missing",
	"missing-role-and-ip":       "missing",
	"empty-nodes":               "missing",
	"empty-file":                "missing",
	"fractional-port":           "shape",
	"not-a-mapping":             "shape",
	"scalar-for-list":           "shape",
	"type-error":                "shape",
	"unknown-cni":               "shape",
	"unknown-field":             "shape",
	"unknown-key-algorithm":     "shape",
	"unknown-role":              "shape",
	"wrong-api-version-kind":    "shape",
	"admin-credential-not-bool": "shape",
	"snippet-unknown-role":      "shape",
	"unknown-lb-mode":           "shape",
	"runtime-unknown":           "shape",
	"runtime-typo":              "shape",
	"yaml-bad-indent":           "syntax",
	"yaml-tab":                  "syntax",
	"yaml-unclosed-bracket":     "syntax",
	"yaml-unclosed-quote":       "syntax",
}

func TestSchemaRejectsShapeErrors(t *testing.T) {
	s := compileSchema(t)
	files, err := filepath.Glob("../../testdata/invalid/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			verdict, ok := schemaVerdicts[name]
			if !ok {
				verdict = "semantic" // most cases are; a shape case must be listed above
			}
			err = validateYAML(s, data)
			switch verdict {
			case "shape", "missing":
				assert.Error(t, err, "the schema must reject %s (%s)", name, verdict)
			case "semantic":
				assert.NoError(t, err, "a %s case: the schema should accept it, or list it as shape in schemaVerdicts", verdict)
			case "syntax":
				_, yerr := yamlInstance(data)
				assert.Error(t, yerr, "a syntax case must not be YAML")
			}
		})
	}
}

// The schema is stricter than the parser in one deliberate way: the parser reads any scalar into
// a string field; the schema asks for the real type so that an editor flags `ciliumVersion: 1.18`.
// Booleans are true or false for both (YAML 1.1's yes/no/on/off are refused). Both reject real
// shape errors.
func TestSchemaAndParserOnScalars(t *testing.T) {
	s := compileSchema(t)
	for _, tc := range []struct {
		edit         string // replaces "  port: 6443" in valid
		parser, schm bool   // accepted by each
	}{
		{"  port: 6443", true, true},
		{"  port: ~", true, true},
		{"  port: 0x192b", true, true},
		{"  port: \"6443\"", false, false},
		{"  port: 6443.5", false, false}, // yaml.v3 would truncate it to 6443: the parser refuses a fraction
		{"  port: [6443]", false, false},
		{"  vrrp: {preempt: true}", true, true},
		{"  vrrp: {preempt: yes}", false, false}, // yaml.v3 would read it (YAML 1.1) as true
		{"  vrrp: {preempt: \"yes\"}", false, false},
		{"  vrrp: {preempt: \"true\"}", false, false},
		{"  vrrp: {version: 4}", false, false},
		{"  vrrp: {advertInterval: 1}", false, false}, // parser: "1" is not a duration
		{"  vrrp:", true, true},
		{"  vrrpp: {}", false, false},
	} {
		t.Run(tc.edit, func(t *testing.T) {
			src := strings.Replace(valid, "  port: 6443", tc.edit, 1)
			_, r, err := Parse("t.yaml", []byte(src))
			assert.Equal(t, tc.parser, err == nil, "parser: %s", r.String())
			serr := validateYAML(s, []byte(src))
			assert.Equal(t, tc.schm, serr == nil, "schema: %v", serr)
		})
	}
}

// fieldPath is one field of the topology types as it appears in a file: nodes[] and snippets[]
// at index 0 of the fixture below.
type fieldPath struct {
	key  string   // fieldDocs key
	path []string // e.g. nodes 0 vm cpus
	leaf bool     // not a section or list of sections
	list bool     // a list: an enum applies to each item
}

func topologyFields(t reflect.Type, path []string) []fieldPath {
	var out []fieldPath
	for i := range t.NumField() {
		f := t.Field(i)
		p := append(append([]string{}, path...), yamlName(f))
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		fp := fieldPath{key: t.Name() + "." + f.Name, path: p, leaf: true, list: ft.Kind() == reflect.Slice}
		switch {
		case ft.Kind() == reflect.Struct:
			fp.leaf = false
			out = append(out, fp)
			out = append(out, topologyFields(ft, p)...)
			continue
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			fp.leaf = false
			out = append(out, topologyFields(ft.Elem(), append(p, "0"))...)
		}
		out = append(out, fp)
	}
	return out
}

func TestSchemaDocsEveryField(t *testing.T) {
	fields := topologyFields(reflect.TypeOf(File{}), nil)
	used := map[string]bool{}
	for _, f := range fields {
		used[f.key] = true
		d, ok := fieldDocs[f.key]
		if !assert.True(t, ok, "%s (%s) has no fieldDocs entry", f.key, strings.Join(f.path, ".")) {
			continue
		}
		assert.NotEmpty(t, d.Desc, f.key)
		n := 0
		for _, set := range []bool{d.Default != nil, d.Required, d.NoDefault != ""} {
			if set {
				n++
			}
		}
		assert.Equal(t, 1, n, "%s: say exactly one of Default, Required, NoDefault", f.key)
	}
	for k := range fieldDocs {
		assert.True(t, used[k], "fieldDocs has %s, which no topology type has", k)
	}
}

// fixture is a valid topology with one node and one snippet, so that every field has a place.
const fixture = `apiVersion: ignigen.io/v1alpha1
kind: Topology
cluster: {name: tiny}
controlPlane: {vip: 10.0.0.10}
network: {cidr: 10.0.0.0/24, gateway: 10.0.0.1, dns: [10.0.0.1]}
ssh: {authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINgSYnmsur6ApeOWg47YLJciko/wUJqooIMvu0oXt6ea me"]}
snippets: [{file: extra.bu}]
nodes:
  - {name: cp, role: control-plane, ip: 10.0.0.11}
`

// parseEdited parses the fixture with edit applied to its decoded form, in a directory that
// holds the snippet.
func parseEdited(t *testing.T, edit func(doc map[string]any)) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "extra.bu"), []byte("variant: flatcar\nversion: 1.1.0\n"), 0o644))
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(fixture), &doc))
	edit(doc)
	src, err := yaml.Marshal(doc)
	require.NoError(t, err)
	c, r, _ := Parse(filepath.Join(dir, "t.yaml"), src)
	var errPaths []string
	for _, e := range r.Entries {
		if e.Severity.String() == "error" {
			errPaths = append(errPaths, e.Path)
		}
	}
	model := ""
	if c != nil {
		model = strings.ReplaceAll(fmt.Sprintf("%+v", *c), dir, "DIR")
	}
	return model, errPaths
}

// at returns the container of path's last element inside doc, creating sections on the way.
func at(doc any, path []string) (parent any, last string) {
	cur := doc
	for _, p := range path[:len(path)-1] {
		switch c := cur.(type) {
		case map[string]any:
			if c[p] == nil {
				c[p] = map[string]any{}
			}
			cur = c[p]
		case []any:
			i, _ := strconv.Atoi(p)
			cur = c[i]
		}
	}
	return cur, path[len(path)-1]
}

func set(doc map[string]any, path []string, v any) {
	parent, last := at(doc, path)
	parent.(map[string]any)[last] = v
}

func del(doc map[string]any, path []string) {
	parent, last := at(doc, path)
	delete(parent.(map[string]any), last)
}

// Writing a field's documented default must build the same cluster as omitting it.
func TestSchemaDefaultsAreTheParsers(t *testing.T) {
	base, errs := parseEdited(t, func(map[string]any) {})
	require.Empty(t, errs)
	for _, f := range topologyFields(reflect.TypeOf(File{}), nil) {
		d := fieldDocs[f.key]
		if d.Default == nil {
			continue
		}
		t.Run(strings.Join(f.path, "."), func(t *testing.T) {
			got, errs := parseEdited(t, func(doc map[string]any) { set(doc, f.path, d.Default) })
			require.Empty(t, errs)
			assert.Equal(t, base, got, "the default %v is not what the parser takes", d.Default)
		})
	}
}

// A field the schema requires is one the parser reports when it is missing or null.
func TestSchemaRequiredIsTheParsers(t *testing.T) {
	for _, f := range topologyFields(reflect.TypeOf(File{}), nil) {
		if !fieldDocs[f.key].Required {
			continue
		}
		p := strings.Join(f.path, ".")
		for what, edit := range map[string]func(map[string]any){
			"missing": func(doc map[string]any) { del(doc, f.path) },
			"null":    func(doc map[string]any) { set(doc, f.path, nil) },
		} {
			t.Run(p+"/"+what, func(t *testing.T) {
				_, errs := parseEdited(t, edit)
				assert.True(t, hasPathUnder(errs, p), "no error at or under %s: %v", p, errs)
			})
		}
	}
}

// Every value of an enum is accepted by the parser at that field; a value outside is not.
func TestSchemaEnumsAreTheParsers(t *testing.T) {
	for _, f := range topologyFields(reflect.TypeOf(File{}), nil) {
		d := fieldDocs[f.key]
		if d.Enum == nil {
			continue
		}
		p := strings.Join(f.path, ".")
		wrap := func(v any) any {
			if f.list {
				return []any{v}
			}
			return v
		}
		for _, v := range d.Enum {
			t.Run(fmt.Sprintf("%s=%v", p, v), func(t *testing.T) {
				_, errs := parseEdited(t, func(doc map[string]any) { set(doc, f.path, wrap(v)) })
				assert.False(t, hasPathUnder(errs, p), "the parser refuses %v at %s: %v", v, p, errs)
			})
		}
		outside := any("not-in-the-enum")
		if _, ok := d.Enum[0].(int); ok {
			outside = 99
		}
		t.Run(fmt.Sprintf("%s=%v", p, outside), func(t *testing.T) {
			_, errs := parseEdited(t, func(doc map[string]any) { set(doc, f.path, wrap(outside)) })
			assert.True(t, hasPathUnder(errs, p), "the parser accepts %v at %s, which the schema refuses", outside, p)
		})
	}
}

func hasPathUnder(paths []string, p string) bool {
	for _, e := range paths {
		if e == p || strings.HasPrefix(e, p+".") {
			return true
		}
	}
	return false
}

func TestExampleStartsWithSchemaModeline(t *testing.T) {
	first, _, _ := bytes.Cut(Example, []byte("\n"))
	assert.Equal(t, "# yaml-language-server: $schema="+SchemaFile, string(first))
}

func TestSchemaIsStable(t *testing.T) {
	a, err := Schema()
	require.NoError(t, err)
	b, err := Schema()
	require.NoError(t, err)
	assert.Equal(t, a, b, "the schema must print the same bytes every time")
	assert.True(t, json.Valid(a))
}
