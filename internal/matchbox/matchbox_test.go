package matchbox

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/build"
	"github.com/ignigen/ignigen/internal/output"
)

// writeOutput writes a build output whose cp1.ign holds cfg and whose manifest records sum.
func writeOutput(t *testing.T, cfg, sum string) string {
	dir := t.TempDir()
	m := build.Manifest{Cluster: "demo", PXE: &build.PXE{KernelURL: "/assets/k", InitrdURLs: []string{"/assets/i.cpio.gz?v=2"}, ExtraArgs: []string{"console=ttyS0"}},
		Nodes: []build.NodeSummary{
			{Name: "cp1", Role: "control-plane", MAC: "52:54:00:00:00:11", File: "cp1.ign", SHA256: sum},
			{Name: "w1", Role: "worker", File: "w1.ign"},
		}}
	raw, _ := json.Marshal(m)
	require.NoError(t, os.WriteFile(filepath.Join(dir, build.ManifestFile), raw, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cp1.ign"), []byte(cfg), 0o600))
	return dir
}

func sha(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

// A config changed after the build (its SHA-256 is not the manifest's) is refused, as serve does.
func TestExportRefusesAnEditedConfig(t *testing.T) {
	_, _, err := Export(writeOutput(t, `{"cp":2}`, sha(`{"cp":1}`)), "http://mb:8080")
	assert.ErrorContains(t, err, "the manifest says "+sha(`{"cp":1}`))
}

func TestExportAndWrite(t *testing.T) {
	dir := writeOutput(t, `{"cp":1}`, sha(`{"cp":1}`))

	files, skipped, err := Export(dir, "http://mb:8080/")
	require.NoError(t, err)
	assert.Equal(t, []string{"w1"}, skipped)
	got := map[string]output.File{}
	for _, f := range files {
		got[f.Name] = f
	}
	for _, tc := range []struct {
		path string
		mode os.FileMode
		want string
	}{
		{"profiles/demo-cp1.json", 0o644, `"args": [
      "initrd=i.cpio.gz",
      "flatcar.first_boot=1",
      "ignition.config.url=http://mb:8080/ignition?mac=${mac:hexhyp}",
      "console=ttyS0"
    ]`},
		{"profiles/demo-cp1.json", 0o644, `"ignition_id": "demo-cp1.ign"`},
		{"groups/demo-cp1.json", 0o644, `"selector": {
    "mac": "52:54:00:00:00:11"
  }`},
		{"ignition/demo-cp1.ign", 0o600, `{"cp":1}`},
	} {
		f, ok := got[tc.path]
		require.True(t, ok, tc.path)
		assert.Equal(t, tc.mode, f.Mode, tc.path)
		assert.Contains(t, string(f.Data), tc.want, tc.path)
	}

	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "groups"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "groups", "other.json"), []byte("{}"), 0o644))
	require.NoError(t, output.Replace(root, files))
	b, err := os.ReadFile(filepath.Join(root, "ignition", "demo-cp1.ign"))
	require.NoError(t, err)
	assert.Equal(t, `{"cp":1}`, string(b))
	_, err = os.Stat(filepath.Join(root, "groups", "other.json"))
	assert.NoError(t, err, "other files are left alone")
}
