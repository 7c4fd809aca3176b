package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ignigen/ignigen/internal/build"
)

// Previous reads the manifest of the build in dir, or returns nil when dir holds none (a first build).
func Previous(dir string) (*build.Manifest, error) {
	path := filepath.Join(dir, build.ManifestFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("previous build: %w", err)
	}
	var m build.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("previous build: %s: %w", path, err)
	}
	return &m, nil
}
