package cli

import (
	"fmt"
	"os"
)

// checkOutputDir refuses an -o that names something other than a directory before the build
// reads DIR/secrets.yaml, which would otherwise fail with a bare "not a directory". The words are
// those of output.WriteDir, which refuses it the same way when --secrets is given.
func checkOutputDir(dir string) error {
	if fi, err := os.Lstat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("output %s exists and is not a directory; choose another -o", dir)
	}
	return nil
}
