package output

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Marker is the file whose presence shows a directory is ours to replace.
const Marker = "manifest.json"

// WriteDir makes dir hold exactly files. Everything is written into a temporary directory beside
// dir and swapped in with one rename, so readers and failures see either the old or the new set.
// An existing dir that is not ignigen output (no Marker, not empty) is refused, never deleted.
// A file of the old dir whose bytes and mode are those wanted is linked into the new one rather
// than written again (reuse.go).
func WriteDir(dir string, files []File) (err error) {
	dir = filepath.Clean(dir)
	if err := checkReplaceable(dir); err != nil {
		return err
	}
	prev := dir
	if _, statErr := os.Lstat(dir); statErr != nil {
		prev = "" // nothing to reuse
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".new-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := populate(tmp, prev, files); err != nil {
		return err
	}
	// The directory holds CA keys and tokens: owner only (MkdirTemp made it 0700).
	if _, statErr := os.Lstat(dir); errors.Is(statErr, fs.ErrNotExist) {
		if err := os.Rename(tmp, dir); err != nil {
			return err
		}
		return syncDir(parent)
	}
	// Swap old and new in one step, then delete the old one (now at tmp).
	if err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dir, unix.RENAME_EXCHANGE); err != nil {
		return fmt.Errorf("replacing %s: %w", dir, err)
	}
	if err := syncDir(parent); err != nil {
		return err
	}
	return os.RemoveAll(tmp)
}

func checkReplaceable(dir string) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("output %s exists and is not a directory; choose another -o", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, Marker)); err != nil {
		return fmt.Errorf("output directory %s is not empty and holds no %s, so it is not ignigen output; choose another -o or empty it", dir, Marker)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
