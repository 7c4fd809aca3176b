package osprofile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ignigen/ignigen/profiles"
)

// PathEnv names extra directories (separated by ':') holding profile directories, searched
// before the embedded ones: how an operator or a test adds a profile without Go code.
const PathEnv = "IGNIGEN_PROFILE_PATH"

// Default is the profile a topology gets when cluster.profile is not written.
const Default = "flatcar"

// Roots is every place profiles are read from: the directories in $IGNIGEN_PROFILE_PATH, then
// the profiles embedded in the binary. A profile directory is read whole from the first root
// that has it.
func Roots() fs.FS {
	var roots []fs.FS
	for _, d := range filepath.SplitList(os.Getenv(PathEnv)) {
		if d != "" {
			roots = append(roots, os.DirFS(d))
		}
	}
	return overlay(append(roots, profiles.FS))
}

// Names lists the profiles in fsys (directories holding profile.yaml), sorted.
func Names(fsys fs.FS) ([]string, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("listing profiles: %w", err)
	}
	var out []string
	for _, e := range entries {
		if _, err := fs.Stat(fsys, e.Name()+"/"+File); err == nil && e.IsDir() {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// overlay is a read-only union of file systems: a path opens from the first that has it, and
// the top directory lists the union of their entries.
type overlay []fs.FS

func (o overlay) Open(name string) (fs.File, error) {
	var first error
	for _, f := range o {
		file, err := f.Open(name)
		if err == nil {
			return file, nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		first = &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return nil, first
}

func (o overlay) ReadDir(name string) ([]fs.DirEntry, error) {
	seen := map[string]bool{}
	var out []fs.DirEntry
	found := false
	for _, f := range o {
		entries, err := fs.ReadDir(f, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		found = true
		for _, e := range entries {
			if !seen[e.Name()] {
				seen[e.Name()] = true
				out = append(out, e)
			}
		}
		if name != "." {
			break // a profile directory comes whole from one root
		}
	}
	if !found {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}
