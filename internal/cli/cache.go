package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ignigen/ignigen/internal/cache"
)

// CacheEnv names the build cache's directory; "off" turns the cache off (as --cache=false does).
const CacheEnv = "IGNIGEN_CACHE_DIR"

// cacheDir is where builds keep translations between runs: $IGNIGEN_CACHE_DIR, else ignigen/build
// in the user's cache directory ($XDG_CACHE_HOME or ~/.cache). "" means no cache.
func cacheDir() string {
	if d := os.Getenv(CacheEnv); d != "" {
		if d == "off" {
			return ""
		}
		return d
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(base, "ignigen", "build")
}

// openCache opens the build cache, or returns nil (no cache) with a warning when it cannot be
// used: a build never fails for its cache.
func openCache(env *Env, on bool) *cache.Cache {
	dir := cacheDir()
	if !on || dir == "" {
		return nil
	}
	c, err := cache.Open(dir, cache.BuildID())
	if err != nil {
		fmt.Fprintf(env.Stderr, "ignigen build: not using the build cache: %v\n", err)
		return nil
	}
	return c
}
