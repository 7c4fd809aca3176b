package topology

import (
	"fmt"
	"math/bits"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// longFlowLine is a 3-line topology whose last line is a flow list of n items, then tail (e.g.
// nothing: the list is left open).
func longFlowLine(n int, tail string) []byte {
	return []byte("apiVersion: ignigen.io/v1alpha1\nkind: Topology\nnodes: [" + strings.Repeat("a, ", n) + "a" + tail + "\n")
}

// A syntax error on a long line once re-parsed every prefix of it: 14 s for 3,000 items. The
// position must now take O(log n) parses, counted here rather than timed.
func TestSyntaxPosLongLineIsBounded(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		tail string
		col  int // 0: any
	}{
		{"unclosed 3000", 3000, "", 8},
		{"unclosed 30000", 30000, "", 8},
		{"bad item 3000", 3000, `, "x" y]`, 0},
		{"bad item 30000", 30000, `, "x" y]`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := longFlowLine(tc.n, tc.tail)
			var n yaml.Node
			err := yaml.Unmarshal(data, &n)
			require.Error(t, err)
			parses := 0
			count := func(b []byte) bool { parses++; return parsesYAML(b) }
			pos, _ := locateSyntax(data, yamlErrorLine(err), false, count)
			assert.Equal(t, 3, pos.Line)
			assert.GreaterOrEqual(t, pos.Col, 1)
			if tc.col != 0 {
				assert.Equal(t, tc.col, pos.Col, "the bracket left open")
			}
			// At most the whole-line prefixes (3 lines), the full line, and a binary search.
			assert.LessOrEqual(t, parses, 3+1+bits.Len(uint(len(data)))+1)

			_, r, perr := Parse("t.yaml", data)
			require.Error(t, perr)
			require.NotEmpty(t, r.Entries)
			assert.Equal(t, 3, r.Entries[0].Pos.Line)
			assert.GreaterOrEqual(t, r.Entries[0].Pos.Col, 1)
		})
	}
}

// An unclosed quote makes yaml.v3 report the last line: the search for the good lines before it
// must not try each of them.
func TestSyntaxPosManyLinesIsBounded(t *testing.T) {
	const first = "apiVersion: \"ignigen.io/v1alpha1\n"
	for _, lines := range []int{3000, 30000} {
		var b strings.Builder
		b.WriteString(first + "kind: Topology\n")
		for i := range lines {
			fmt.Fprintf(&b, "x%d: a\n", i)
		}
		data := []byte(b.String())
		var n yaml.Node
		err := yaml.Unmarshal(data, &n)
		require.Error(t, err)
		parses := 0
		count := func(b []byte) bool { parses++; return parsesYAML(b) }
		pos, _ := locateSyntax(data, yamlErrorLine(err), false, count)
		assert.Equal(t, 1, pos.Line, "%d lines", lines)
		assert.Equal(t, 13, pos.Col, "%d lines: the open quote", lines)
		// A binary search over the lines, then every prefix of the short first line.
		assert.LessOrEqual(t, parses, 1+bits.Len(uint(lines+2))+1+len(first), "%d lines", lines)
	}
}
