package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ignigen/ignigen/internal/output"
)

// A ledger records which control-plane configs of a build have been delivered. It lives in a file
// beside the build output, not in it: a build replaces the whole directory, and the record must
// outlive both a restart of serve and a rebuild that yields the same bytes (the same CA keys).
//
// Every claim re-reads the file under an exclusive lock, so a re-arm by another process
// (`ignigen serve --rearm`) counts at once, and two requests, or two processes, never both win.
type ledger struct {
	path string
	mu   sync.Mutex // one claim at a time in this process; the flock covers other processes
	cur  string     // the build being served; claims for any other are stale
}

// ledgerFile is the file's content. Build is the SHA-256 of manifest.json: a record of another
// build counts as empty, so a new build re-arms every node.
type ledgerFile struct {
	Build     string              `json:"build"`
	Delivered map[string]Delivery `json:"delivered"`
}

// Delivery is who got a node's config, and when.
type Delivery struct {
	Client string    `json:"client"`
	At     time.Time `json:"at"`
}

// LedgerPath is where the one-time delivery record of build output dir lives: DIR.delivered.json.
func LedgerPath(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("one-time delivery record for %s: %w", dir, err)
	}
	return abs + ".delivered.json", nil
}

// errStale: the request resolved its node in a build that is no longer served.
var errStale = errors.New("a new build was loaded while this request was answered; retry")

// claim records that client got build's node name, unless someone already did: then it returns
// that earlier delivery and records nothing.
func (l *ledger) claim(build, name, client string, at time.Time) (*Delivery, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if build != l.cur {
		return nil, errStale
	}
	var prev *Delivery
	err := l.update(build, func(d map[string]Delivery) bool {
		if p, ok := d[name]; ok {
			prev = &p
			return false
		}
		d[name] = Delivery{Client: client, At: at.UTC()}
		return true
	})
	return prev, err
}

// setBuild makes build the one claims are for.
func (l *ledger) setBuild(build string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cur = build
}

// rearm forgets build's deliveries of names; it returns the names that had been delivered.
func (l *ledger) rearm(build string, names []string) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var was []string
	err := l.update(build, func(d map[string]Delivery) bool {
		for _, n := range names {
			if _, ok := d[n]; ok {
				was = append(was, n)
				delete(d, n)
			}
		}
		return len(was) > 0
	})
	return was, err
}

// delivered reads build's deliveries.
func (l *ledger) delivered(build string) (map[string]Delivery, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	unlock, err := l.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return l.read(build)
}

// update runs f on build's deliveries under the file lock and writes them back when f says so.
func (l *ledger) update(build string, f func(map[string]Delivery) bool) error {
	unlock, err := l.lock()
	if err != nil {
		return err
	}
	defer unlock()
	d, err := l.read(build)
	if err != nil {
		return err
	}
	if !f(d) {
		return nil
	}
	raw, err := json.MarshalIndent(ledgerFile{Build: build, Delivered: d}, "", "  ")
	if err != nil {
		return fmt.Errorf("one-time delivery record %s: %w", l.path, err)
	}
	// output.Replace: a crash leaves the old record or the new one, never a mix.
	return output.Replace(filepath.Dir(l.path), []output.File{{Name: filepath.Base(l.path), Data: append(raw, '\n'), Mode: 0o600}})
}

func (l *ledger) read(build string) (map[string]Delivery, error) {
	raw, err := os.ReadFile(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]Delivery{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("one-time delivery record: %w", err)
	}
	var lf ledgerFile
	if err := json.Unmarshal(raw, &lf); err != nil {
		// Written by rename only, so this is damage or an edit: fail closed, say how to recover.
		return nil, fmt.Errorf("one-time delivery record %s is damaged (%v); delete it to re-arm every control-plane node", l.path, err)
	}
	if lf.Build != build || lf.Delivered == nil {
		return map[string]Delivery{}, nil
	}
	return lf.Delivered, nil
}

// lock takes an exclusive flock on PATH.lock (the record itself is replaced by rename, so it
// cannot carry the lock).
func (l *ledger) lock() (func(), error) {
	f, err := os.OpenFile(l.path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("one-time delivery record: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("one-time delivery record: locking %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil // closing releases the lock
}
