package serve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ignigen/ignigen/internal/build"
	"github.com/ignigen/ignigen/internal/osprofile"
)

type node struct {
	build.NodeSummary
	config []byte
}

// snapshot is one consistent view of the build output.
type snapshot struct {
	manifest []byte // raw manifest.json, to notice changes
	build    string // its SHA-256: what one-time deliveries are keyed to
	m        build.Manifest
	os       *osprofile.Profile // the manifest's profile: its boot arguments go in every script
	byMAC    map[string]*node
	byName   map[string]*node
}

// Reload re-reads Dir when manifest.json changed. It returns whether a new snapshot was taken;
// on error the previous snapshot stays in use.
func (s *Server) Reload() (bool, error) {
	raw, err := os.ReadFile(filepath.Join(s.opts.Dir, build.ManifestFile))
	if err != nil {
		return false, fmt.Errorf("%s is not a build output: %w", s.opts.Dir, err)
	}
	if old := s.snap.Load(); old != nil && bytes.Equal(old.manifest, raw) {
		return false, nil
	}
	sn, err := load(s.opts.Dir, raw)
	if err != nil {
		return false, err
	}
	if s.ledger != nil {
		// Before the store: a request still holding the old snapshot then gets errStale, so it
		// can never record a delivery of the old build over the new build's record.
		s.ledger.setBuild(sn.build)
	}
	s.snap.Store(sn)
	return true, nil
}

func load(dir string, raw []byte) (*snapshot, error) {
	sum := sha256.Sum256(raw)
	sn := &snapshot{manifest: raw, build: hex.EncodeToString(sum[:]), byMAC: map[string]*node{}, byName: map[string]*node{}}
	if err := json.Unmarshal(raw, &sn.m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, build.ManifestFile), err)
	}
	osp, err := sn.m.OS()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, build.ManifestFile), err)
	}
	sn.os = osp
	for _, ns := range sn.m.Nodes {
		if ns.File != filepath.Base(ns.File) || ns.File == "" {
			return nil, fmt.Errorf("manifest node %q: file %q is not a plain file name", ns.Name, ns.File)
		}
		data, err := os.ReadFile(filepath.Join(dir, ns.File))
		if err != nil {
			return nil, fmt.Errorf("manifest node %q: %w", ns.Name, err)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != ns.SHA256 {
			// The directory is replaced in one rename, so this means someone edited a file.
			return nil, fmt.Errorf("%s does not match the sha256 in manifest.json (edited after the build?); rebuild", ns.File)
		}
		n := &node{NodeSummary: ns, config: data}
		sn.byName[ns.Name] = n
		if ns.MAC != "" {
			sn.byMAC[ns.MAC] = n
		}
	}
	return sn, nil
}

// Watch reloads Dir every interval until ctx ends, logging each reload and failure.
func (s *Server) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			changed, err := s.Reload()
			switch {
			case err != nil:
				s.logf("reload of %s failed, still serving the previous build: %v", s.opts.Dir, err)
			case changed:
				sn := s.snap.Load()
				s.logf("reloaded %s: cluster %s, %d node(s)", s.opts.Dir, sn.m.Cluster, len(sn.m.Nodes))
				if s.ledger != nil {
					s.logf("one-time delivery, new build: %s", s.deliveryStatus(sn))
				}
			}
		}
	}
}
