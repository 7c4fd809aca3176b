package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/topology"
)

// The schema an editor gets is the package's, and init's modeline names the file README tells
// users to write it to; validation against it is tested in internal/topology.
func TestSchemaCommand(t *testing.T) {
	want, err := topology.Schema()
	require.NoError(t, err)
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"schema"}, ExitOK, string(want), ""},
		{[]string{"schema", "x"}, ExitUsage, "", "expected 0 argument(s), got 1"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			res := run(tc.args...)
			assert.Equal(t, tc.code, res.code)
			assert.Equal(t, tc.stdout, res.stdout)
			assert.Contains(t, res.stderr, tc.stderr)
		})
	}

	init := run("init")
	require.Equal(t, ExitOK, init.code)
	first, _, _ := strings.Cut(init.stdout, "\n")
	assert.Equal(t, "# yaml-language-server: $schema="+topology.SchemaFile, first)
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(readme), "ignigen schema > "+topology.SchemaFile), "README shows how to write the schema beside a topology")
}
