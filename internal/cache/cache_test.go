package cache

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func open(t *testing.T, salt string) *Cache {
	t.Helper()
	c, err := Open(filepath.Join(t.TempDir(), "cache"), []byte(salt))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func onlyEntry(t *testing.T, c *Cache) string {
	t.Helper()
	entries, err := c.Entries()
	if err != nil || len(entries) != 1 {
		t.Fatalf("entries %v, %v; want one", entries, err)
	}
	return entries[0]
}

func TestRoundTripAndModes(t *testing.T) {
	c := open(t, "build-1")
	text := []byte("variant: flatcar\n# -----BEGIN EC PRIVATE KEY----- sekrit-key-material\n")
	val := []byte(`{"ignition":{"version":"3.4.0"},"secret":"sekrit-key-material"}`)
	if _, ok := c.Get("layer", text); ok {
		t.Fatal("hit in an empty cache")
	}
	c.Put(val, "layer", text)
	got, ok := c.Get("layer", text)
	if !ok || !bytes.Equal(got, val) {
		t.Fatalf("Get = %q, %v; want %q", got, ok, val)
	}
	// Other inputs, another kind, parts split differently: all misses.
	for name, get := range map[string]func() bool{
		"other text":  func() bool { _, ok := c.Get("layer", append(text, ' ')); return ok },
		"other kind":  func() bool { _, ok := c.Get("node", text); return ok },
		"split parts": func() bool { _, ok := c.Get("layer", text[:5], text[5:]); return ok },
	} {
		if get() {
			t.Errorf("%s: hit", name)
		}
	}
	// Another executable (build ID) never reads this one's entries.
	other := &Cache{dir: c.dir, salt: []byte("build-2")}
	if _, ok := other.Get("layer", text); ok {
		t.Error("a cache with another build ID read the entry")
	}

	entry := onlyEntry(t, c)
	sealed, err := os.ReadFile(entry)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(c.dir)
	for _, s := range []string{"sekrit-key-material", "PRIVATE KEY", "3.4.0"} {
		if bytes.Contains(sealed, []byte(s)) {
			t.Errorf("entry holds %q in the clear", s)
		}
	}
	for path, want := range map[string]os.FileMode{root: 0o700, c.dir: 0o700, entry: 0o600} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s is %v, want %v", path, st.Mode().Perm(), want)
		}
	}
}

// A damaged entry is a miss, never a wrong value, and the next Put replaces it.
func TestDamagedEntryIgnoredAndRewritten(t *testing.T) {
	text, val := []byte("layer text"), []byte("translated config, long enough to truncate")
	for name, damage := range map[string]func([]byte) []byte{
		"truncated":   func(b []byte) []byte { return b[:len(b)/2] },
		"empty":       func([]byte) []byte { return nil },
		"bit flipped": func(b []byte) []byte { b[len(b)-20] ^= 1; return b },
		"zeroed":      func(b []byte) []byte { return make([]byte, len(b)) },
		"nonce only":  func(b []byte) []byte { return b[:12] },
	} {
		t.Run(name, func(t *testing.T) {
			c := open(t, "build-1")
			c.Put(val, "layer", text)
			entry := onlyEntry(t, c)
			sealed, err := os.ReadFile(entry)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(entry, damage(bytes.Clone(sealed)), 0o600); err != nil {
				t.Fatal(err)
			}
			if got, ok := c.Get("layer", text); ok {
				t.Fatalf("damaged entry read as %q", got)
			}
			c.Put(val, "layer", text)
			if got, ok := c.Get("layer", text); !ok || !bytes.Equal(got, val) {
				t.Fatalf("after rewrite Get = %q, %v", got, ok)
			}
			if e := onlyEntry(t, c); e != entry {
				t.Fatalf("rewritten as %s, want %s", e, entry)
			}
		})
	}
}

func TestOpenRefusesOpenDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, []byte("id")); err == nil {
		t.Fatal("Open accepted a 0755 directory")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "x"), nil); err == nil {
		t.Fatal("Open accepted an empty build ID")
	}
}

func TestNilCache(t *testing.T) {
	var c *Cache
	c.Put([]byte("v"), "layer", []byte("t"))
	if _, ok := c.Get("layer", []byte("t")); ok {
		t.Fatal("nil cache hit")
	}
}

func TestBuildID(t *testing.T) {
	id := BuildID()
	if len(id) < 20 {
		t.Fatalf("BuildID() = %q; the test binary has a Go build ID note", id)
	}
	// A lone tag with a wrong name size is skipped; a well-formed note is found.
	note := append([]byte("\x03\x00\x00\x00\x05\x00\x00\x00\x04\x00\x00\x00Go\x00\x00junk!"),
		[]byte("\x04\x00\x00\x00\x05\x00\x00\x00\x04\x00\x00\x00Go\x00\x00abcde")...)
	if got := noteBuildID(note); string(got) != "abcde" {
		t.Fatalf("noteBuildID = %q, want abcde", got)
	}
	if got := noteBuildID([]byte("no note here")); got != nil {
		t.Fatalf("noteBuildID = %q, want nil", got)
	}
}

// Another executable's entries go once unused for a week; recent ones and this one's stay.
func TestPruneOtherExecutables(t *testing.T) {
	root := filepath.Join(t.TempDir(), "cache")
	old, err := Open(root, []byte("old build"))
	if err != nil {
		t.Fatal(err)
	}
	recent, err := Open(root, []byte("recent build"))
	if err != nil {
		t.Fatal(err)
	}
	long := time.Now().Add(-unusedFor - time.Hour)
	if err := os.Chtimes(old.dir, long, long); err != nil {
		t.Fatal(err)
	}
	cur, err := Open(root, []byte("current build"))
	if err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]bool{old.dir: false, recent.dir: true, cur.dir: true} {
		if _, err := os.Stat(dir); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", dir, err == nil, want)
		}
	}
}

func TestPruneOwnEntries(t *testing.T) {
	day := 24 * time.Hour
	cases := []struct {
		name    string
		file    string
		age     time.Duration
		markAge time.Duration // of the marker; 0: none
		kept    bool
	}{
		{"fresh entry", "entry", day, 0, true},
		{"entry written over a week ago", "entry", unusedFor + day, 0, false},
		{"fresh temporary file (a build may be writing it)", ".tmp-1", time.Minute, 0, true},
		{"temporary file of a crashed build", ".tmp-1", 2 * time.Hour, 0, false},
		{"old entry, looked over today already", "entry", unusedFor + day, time.Hour, true},
		{"old entry, looked over yesterday", "entry", unusedFor + day, pruneEvery + time.Hour, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "cache")
			c, err := Open(root, []byte("build"))
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			p := filepath.Join(c.dir, tc.file)
			if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, now.Add(-tc.age), now.Add(-tc.age)); err != nil {
				t.Fatal(err)
			}
			mark := filepath.Join(c.dir, pruneMark)
			if tc.markAge == 0 {
				os.Remove(mark)
			} else if err := os.Chtimes(mark, now.Add(-tc.markAge), now.Add(-tc.markAge)); err != nil {
				t.Fatal(err)
			}
			if _, err := Open(root, []byte("build")); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(p); (err == nil) != tc.kept {
				t.Errorf("%s: kept %v, want %v", tc.file, err == nil, tc.kept)
			}
			if st, err := os.Stat(mark); err != nil || (tc.markAge != time.Hour && now.Sub(st.ModTime()) > time.Minute) {
				t.Errorf("marker not renewed after a look-over (%v)", err)
			}
		})
	}
}
