package output

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Replace writes files under root, each renamed over its target: other files are left alone.
func Replace(root string, files []File) error {
	return publish(root, files, os.Rename)
}

// Create writes files under root and refuses to overwrite any: each is linked into place, which
// fails if the target exists, so no reader ever sees a partial file.
func Create(root string, files []File) error {
	return publish(root, files, func(tmp, dst string) error {
		if err := os.Link(tmp, dst); err != nil {
			return err
		}
		return os.Remove(tmp)
	})
}

// publish writes every file under a temporary name beside its target, makes them all durable
// with one sync of the file system (one journal commit instead of one per file), then moves each
// into place with place and syncs again so the new names survive a crash too.
func publish(root string, files []File, place func(tmp, dst string) error) (err error) {
	if len(files) == 0 {
		return nil
	}
	tmps := make([]string, 0, len(files))
	defer func() {
		for _, t := range tmps {
			os.Remove(t) // already placed (rename) or linked and removed: ENOENT, harmless
		}
	}()
	dirs := map[string]bool{}
	for _, f := range files {
		dst, err := target(root, f.Name)
		if err != nil {
			return err
		}
		dir := filepath.Dir(dst)
		if !dirs[dir] {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			dirs[dir] = true
		}
		tmp, err := writeTemp(dir, filepath.Base(dst), f.Data, f.Mode)
		if err != nil {
			return err
		}
		tmps = append(tmps, tmp)
	}
	if err := syncFS(root); err != nil {
		return err
	}
	for i, f := range files {
		dst, _ := target(root, f.Name)
		if err := place(tmps[i], dst); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s: %w", dst, fs.ErrExist)
			}
			return err
		}
	}
	return syncFS(root)
}

// populate writes files into dir, a new directory nobody else reads yet, and makes them durable
// with one sync of the file system rather than one fsync per file. Creating a file can wait on
// the file system's journal, so several are created at once. A file that prev (the directory dir
// replaces, or "") already holds with the same bytes and mode is linked from there instead.
//
// A few files (a small cluster) are each synced as written, then dir itself: syncfs also waits
// for every other process's dirty data on the file system (2 to 35 ms for a 5-node build on a
// shared machine, more than the build), and a few fsyncs cost less. A linked file's data is
// already durable: the build that wrote it synced it before swapping its directory in.
func populate(dir, prev string, files []File) error {
	each := len(files) <= syncEachMax
	for _, f := range files {
		if strings.Contains(f.Name, "/") || f.Name == "" || f.Name[0] == '.' {
			return fmt.Errorf("output file name %q is not a plain file name", f.Name)
		}
	}
	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				dst := filepath.Join(dir, files[i].Name)
				if prev != "" && reuse(filepath.Join(prev, files[i].Name), dst, files[i]) {
					continue
				}
				errs[i] = writeNew(dst, files[i].Data, files[i].Mode, each)
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if each {
		return syncDir(dir)
	}
	return syncFS(dir)
}

// syncEachMax is the most files populate syncs one by one (a file takes about 0.25 ms here).
const syncEachMax = 64

// writers is how many files populate creates at once: enough to overlap waits on the journal.
const writers = 8

// target is where name lands under root; names that climb out of root are refused.
func target(root, name string) (string, error) {
	clean := filepath.FromSlash(name)
	if name == "" || !filepath.IsLocal(clean) {
		return "", fmt.Errorf("file name %q is not a path inside %s", name, root)
	}
	return filepath.Join(root, clean), nil
}

// writeTemp writes a new file beside dir/base under a hidden temporary name.
func writeTemp(dir, base string, data []byte, mode fs.FileMode) (string, error) {
	f, err := os.CreateTemp(dir, "."+base+".new-*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// writeNew creates path, which must not exist, with exactly mode (not narrowed by the umask).
// It syncs the file if sync is set; otherwise the caller syncs the whole batch at once.
func writeNew(path string, data []byte, mode fs.FileMode, sync bool) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// syncFS flushes every written file and directory entry of the file system holding dir.
// syncfs reports write-back errors of that file system (Linux 5.8 and later), which is what
// a per-file fsync would have reported.
func syncFS(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
