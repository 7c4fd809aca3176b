package testkit

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestChangedFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		p := filepath.Join(dir, name)
		Must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		Must(t, os.WriteFile(p, []byte(data), 0o644))
	}
	write("a", "1")
	write("sub/b", "2")
	write("c", "3")
	before := HashTree(t, dir)
	if got := ChangedFiles(before, HashTree(t, dir)); len(got) != 0 {
		t.Fatalf("an untouched tree changed: %v", got)
	}
	write("sub/b", "changed")
	write("d", "new")
	Must(t, os.Remove(filepath.Join(dir, "c")))
	Must(t, os.Symlink("a", filepath.Join(dir, "link"))) // not a regular file: not listed
	if got, want := ChangedFiles(before, HashTree(t, dir)), []string{"c", "d", "sub/b"}; !slices.Equal(got, want) {
		t.Fatalf("ChangedFiles = %v, want %v", got, want)
	}
}
