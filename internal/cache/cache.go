package cache

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// Cache is a directory of sealed entries. A nil *Cache is a cache that never hits and keeps
// nothing. It is safe for concurrent use.
type Cache struct {
	dir          string
	salt         []byte // what makes one executable's entries its own (buildid.go)
	hits, misses atomic.Int64
}

// Stats returns how many Gets found their entry and how many did not.
func (c *Cache) Stats() (hits, misses int64) {
	if c == nil {
		return 0, 0
	}
	return c.hits.Load(), c.misses.Load()
}

// Open returns the cache in root, creating it 0700. A directory others may read is refused: the
// entries are sealed, but their names still say which builds happened. Each executable keeps
// its entries in a subdirectory of its own; those of executables unused for a week are removed.
func Open(root string, salt []byte) (*Cache, error) {
	if len(salt) == 0 {
		return nil, errors.New("no build ID to key entries with")
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, err
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is %v; it must be 0700 (chmod 700 %s)", root, st.Mode().Perm(), root)
	}
	sum := sha256.Sum256(salt)
	own := hex.EncodeToString(sum[:8])
	dir := filepath.Join(root, own)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	now := time.Now()
	os.Chtimes(dir, now, now) // in use: not pruned
	prune(root, own, now.Add(-unusedFor))
	pruneOwn(dir, now)
	return &Cache{dir: dir, salt: salt}, nil
}

const (
	unusedFor  = 7 * 24 * time.Hour // how long an executable's entries outlive its last build
	tmpFor     = time.Hour          // a temporary file this old is a crashed build's
	pruneEvery = 24 * time.Hour     // how often an executable's own entries are looked over
	pruneMark  = ".pruned"          // its modification time says when that last happened
)

// pruneOwn removes, at most once per pruneEvery, this executable's entries written more than
// unusedFor ago (a build that still needs one misses once and writes it again) and temporary
// files a crashed build left: without it the directory of an executable in daily use grows
// with every topology and every new secrets bundle ever built.
func pruneOwn(dir string, now time.Time) {
	mark := filepath.Join(dir, pruneMark)
	if st, err := os.Stat(mark); err == nil && now.Sub(st.ModTime()) < pruneEvery {
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		limit := unusedFor
		if strings.HasPrefix(e.Name(), ".tmp-") {
			limit = tmpFor
		}
		if info, err := e.Info(); err == nil && e.Name() != pruneMark && now.Sub(info.ModTime()) > limit {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	if f, err := os.OpenFile(mark, os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
		f.Close()
	}
	os.Chtimes(mark, now, now)
}

// prune removes the entries of other executables last used before cutoff.
func prune(root, own string, cutoff time.Time) {
	subdirs, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, d := range subdirs {
		if !d.IsDir() || d.Name() == own {
			continue
		}
		if info, err := d.Info(); err == nil && info.ModTime().Before(cutoff) {
			os.RemoveAll(filepath.Join(root, d.Name()))
		}
	}
}

// Get returns the value Put stored for kind and parts, if its entry exists and opens.
func (c *Cache) Get(kind string, parts ...[]byte) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	val, ok := c.get(kind, parts)
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return val, ok
}

func (c *Cache) get(kind string, parts [][]byte) ([]byte, bool) {
	name, key := c.address(kind, parts)
	sealed, err := os.ReadFile(filepath.Join(c.dir, name))
	if err != nil {
		return nil, false
	}
	aead := newAEAD(key)
	if len(sealed) < aead.NonceSize() {
		return nil, false
	}
	box := sealed[aead.NonceSize():]
	val, err := aead.Open(box[:0], sealed[:aead.NonceSize()], box, []byte(name)) // in place
	if err != nil {
		return nil, false // corrupt, truncated or not ours: a miss, rewritten by the next Put
	}
	return val, true
}

// Put stores val for kind and parts, atomically: readers see the old entry or the new one,
// never a part. Errors are ignored (a cache that cannot be written only costs time); the entry
// is not synced, since a torn entry after a crash fails to open.
func (c *Cache) Put(val []byte, kind string, parts ...[]byte) {
	if c == nil {
		return
	}
	name, key := c.address(kind, parts)
	aead := newAEAD(key)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	sealed := aead.Seal(nonce, nonce, val, []byte(name))
	f, err := os.CreateTemp(c.dir, ".tmp-*") // 0600
	if err != nil {
		return
	}
	_, werr := f.Write(sealed)
	if cerr := f.Close(); werr != nil || cerr != nil {
		os.Remove(f.Name())
		return
	}
	if err := os.Rename(f.Name(), filepath.Join(c.dir, name)); err != nil {
		os.Remove(f.Name())
	}
}

// address derives an entry's file name and sealing key from its inputs. Both come from one
// digest through different prefixes, so a name says nothing about the key.
func (c *Cache) address(kind string, parts [][]byte) (name string, key []byte) {
	h := sha256.New()
	writePart(h, c.salt)
	writePart(h, []byte(kind))
	for _, p := range parts {
		writePart(h, p)
	}
	digest := h.Sum(nil)
	n := sha256.Sum256(append([]byte("ignigen cache name\x00"), digest...))
	k := sha256.Sum256(append([]byte("ignigen cache key\x00"), digest...))
	return hex.EncodeToString(n[:]), k[:]
}

// writePart writes p with its length first, so parts cannot run into each other.
func writePart(h interface{ Write([]byte) (int, error) }, p []byte) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(p)))
	h.Write(n[:])
	h.Write(p)
}

func newAEAD(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// Entries lists the cache's entry files (tests, and users wondering what it holds).
func (c *Cache) Entries() ([]string, error) {
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() && e.Name()[0] != '.' {
			out = append(out, filepath.Join(c.dir, e.Name()))
		}
	}
	return out, nil
}
