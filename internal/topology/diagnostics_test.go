package topology

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/ignigen/ignigen/internal/report"
)

// valid is a minimal valid topology; cases below edit one line of it.
const valid = `apiVersion: ignigen.io/v1alpha1
kind: Topology
cluster:
  name: tiny
controlPlane:
  vip: 10.0.0.10
  port: 6443
network:
  cidr: 10.0.0.0/24
  gateway: 10.0.0.1
  dns: [10.0.0.1]
ssh:
  authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINgSYnmsur6ApeOWg47YLJciko/wUJqooIMvu0oXt6ea me"]
nodes:
  - {name: cp, role: control-plane, ip: 10.0.0.11, init: true}
`

func diagnose(t *testing.T, src string) []string {
	t.Helper()
	_, r, err := Parse("t.yaml", []byte(src))
	require.Error(t, err)
	var out []string
	for _, e := range r.Entries {
		out = append(out, r.Format(e))
	}
	return out
}

func TestValidBase(t *testing.T) {
	_, r, err := Parse("t.yaml", []byte(valid))
	require.NoError(t, err, r.String())
}

func TestSyntaxErrorPositions(t *testing.T) {
	for _, tc := range []struct{ name, old, new, want string }{
		// yaml.v3 says line 6 (the 0-based line of the flow sequence); the bracket is at 7:9.
		{"unclosed list", "  port: 6443", "  port: [1", "t.yaml:7:9: error: invalid YAML: did not find expected ',' or ']'; close the list"},
		{"unclosed list before comment", "  port: 6443", "  port: [1   # comment", "t.yaml:7:9: error"},
		{"bad indentation", "  gateway: 10.0.0.1", "  gateway: 10.0.0.1\n   bad: x", "t.yaml:11:4: error: invalid YAML: mapping values are not allowed in this context"},
		{"colon in value", "  name: tiny", "  name: a: b", "t.yaml:4:10: error: invalid YAML: mapping values are not allowed"},
		// yaml.v3 names the end of the file; the quote opens at 4:9.
		{"unclosed quote", "  name: tiny", `  name: "tiny`, "t.yaml:4:9: error: invalid YAML: "},
		{"unclosed quote at the end", "  name: tiny", "  name: tiny\n  profile: 'flatcar", "t.yaml:5:12: error: invalid YAML: found unexpected end of stream; close the quote"},
		{"tab", "  name: tiny", "\tname: tiny", "t.yaml:4:1: error: invalid YAML: found character that cannot start any token; indent with spaces"},
		{"tab in nested indentation", "  name: tiny", "  name: tiny\n \tprofile: flatcar", "t.yaml:5:2: error: invalid YAML: found a tab character that violates indentation; indent with spaces"},
		{"bad flow item", "  - {name: cp,", "  - {name: cp, ip: [},", "t.yaml:15:21: error: invalid YAML: did not find expected node content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(valid, tc.old, tc.new, 1)
			require.NotEqual(t, valid, src)
			got := diagnose(t, src)
			require.Len(t, got, 1)
			assert.True(t, strings.HasPrefix(got[0], tc.want), "got  %s\nwant %s...", got[0], tc.want)
		})
	}
}

func TestShapeErrors(t *testing.T) {
	for _, tc := range []struct{ name, old, new, want string }{
		{"string for int", "  port: 6443", "  port: abc", `t.yaml:7:9: error: "abc" is not a whole number; write a whole number, without quotes or units (controlPlane.port)`},
		{"quoted int", "  port: 6443", `  port: "6443"`, `t.yaml:7:9: error: "6443" is not a whole number; remove the quotes: a quoted number is a string (controlPlane.port)`},
		// Not the first scalar of the line (nodes.0.name), the field itself.
		{"bad bool in flow mapping", "init: true", "init: maybe", `t.yaml:15:58: error: "maybe" is not true or false; write true or false, without quotes (nodes.0.init)`},
		{"scalar for list", "  dns: [10.0.0.1]", "  dns: 10.0.0.1", `t.yaml:11:8: error: expected a list, found the value "10.0.0.1"; write a list`},
		{"scalar for mapping", "cluster:\n  name: tiny", "cluster: tiny", `t.yaml:3:10: error: expected a mapping of fields, found the value "tiny"`},
		{"list for string", "  name: tiny", "  name: [tiny]", `t.yaml:4:9: error: expected a single value, found a list`},
		{"typo", "  gateway:", "  gatway:", `t.yaml:10:3: error: unknown field "gatway"; did you mean "gateway"? (network.gatway)`},
		{"twice", "  port: 6443", "  port: 6443\n  port: 6443", `t.yaml:8:3: error: field "port" is given twice; remove one of the two (controlPlane.port)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(valid, tc.old, tc.new, 1)
			require.NotEqual(t, valid, src)
			got := diagnose(t, src)
			require.NotEmpty(t, got)
			assert.True(t, strings.HasPrefix(got[0], tc.want), "got  %s\nwant %s...", got[0], tc.want)
			if tc.name != "typo" {
				assert.Len(t, got, 1, "%q", got)
			}
		})
	}
}

// Every shape error is reported, not just the first.
func TestShapeErrorsAllReported(t *testing.T) {
	src := strings.Replace(strings.Replace(valid, "  port: 6443", "  port: abc", 1), "init: true", "init: maybe", 1)
	assert.Len(t, diagnose(t, src), 2)
}

func TestMissingFieldAtParentKey(t *testing.T) {
	got := diagnose(t, strings.Replace(valid, "  gateway: 10.0.0.1\n", "", 1))
	require.Len(t, got, 1)
	assert.Equal(t, "t.yaml:8:1: error: gateway is missing; give the default gateway of the node network (network.gateway)", got[0])
}

func TestEmptyFile(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "---\n"} {
		got := diagnose(t, src)
		require.Len(t, got, 1)
		assert.Equal(t, "t.yaml:1:1: error: the file is empty; start from `ignigen init` output", got[0])
	}
}

func TestReservedAddressesNamed(t *testing.T) {
	got := diagnose(t, strings.Replace(valid, "vip: 10.0.0.10", "vip: 10.0.0.0", 1))
	assert.Contains(t, got[0], "VIP 10.0.0.0 is the network address of 10.0.0.0/24")
	got = diagnose(t, strings.Replace(valid, "vip: 10.0.0.10", "vip: 10.0.0.255", 1))
	assert.Contains(t, got[0], "VIP 10.0.0.255 is the broadcast address of 10.0.0.0/24")
}

func TestSameRange(t *testing.T) {
	got := diagnose(t, strings.Replace(valid, "cluster:", "kubernetes: {podCIDR: 10.0.0.0/24}\ncluster:", 1))
	require.Len(t, got, 1)
	assert.Contains(t, got[0], "10.0.0.0/24 is the same range as 10.0.0.0/24; choose a range that does not overlap network.cidr")
}

func TestNodeWithoutIP(t *testing.T) {
	got := diagnose(t, strings.Replace(valid, " ip: 10.0.0.11,", "", 1))
	require.Len(t, got, 1)
	assert.Equal(t, "t.yaml:15:5: error: node \"cp\" has no IP; give the node its address in network.cidr, e.g. `ip: 192.168.122.31` (nodes.0.ip)", got[0])
}

type selfReading struct{ v string }

func (s *selfReading) UnmarshalYAML(n *yaml.Node) error {
	if n.Value == "bad" {
		return fmt.Errorf("line %d: %q is not allowed", n.Line, n.Value)
	}
	s.v = n.Value
	return nil
}

// checkShape follows maps and leaves types that read themselves to themselves.
func TestShapeOfOtherTypes(t *testing.T) {
	type spec struct {
		Labels map[string]int `yaml:"labels"`
		Custom selfReading    `yaml:"custom"`
		Any    any            `yaml:"any"`
	}
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte("labels: {a: 1, b: x}\ncustom: fine\nany: [1, {a: b}]\n"), &doc))
	var r report.Report
	checkShape(&r, doc.Content[0], reflect.TypeOf(spec{}), "")
	require.Len(t, r.Entries, 1, r.String())
	assert.Equal(t, `:1:19: error: "x" is not a whole number; write a whole number, without quotes or units (labels.b)`, r.Format(r.Entries[0]))

	require.NoError(t, yaml.Unmarshal([]byte("labels: 3\ncustom: bad\n"), &doc))
	r = report.Report{}
	checkShape(&r, doc.Content[0], reflect.TypeOf(spec{}), "")
	require.Len(t, r.Entries, 2, r.String())
	assert.Equal(t, `:1:9: error: expected a mapping, found the value "3"; indent its entries under it, one `+"`key: value`"+` per line (labels)`, r.Format(r.Entries[0]))
	assert.Equal(t, `:2:9: error: "bad" is not allowed; see the topology reference in README.md (custom)`, r.Format(r.Entries[1]))
}

func TestSuggest(t *testing.T) {
	names := []string{"name", "role", "ip", "mac", "init", "vm"}
	assert.Equal(t, "role", suggest("rol", names))
	assert.Equal(t, "mac", suggest("MAC", names))
	assert.Equal(t, "", suggest("a", names), "a one-letter key is no typo of a two-letter field")
	assert.Equal(t, "", suggest("hostname", names))
}
