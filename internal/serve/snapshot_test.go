package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReload(t *testing.T) {
	var log syncBuffer
	s, dir := newServer(t, &log)
	changed, err := s.Reload()
	require.NoError(t, err)
	assert.False(t, changed, "same manifest: nothing to do")

	writeOutput(t, dir, 2)
	changed, err = s.Reload()
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Contains(t, get(s.Handler(), "/ignition?name=w1").Body.String(), `"v":2`)

	// A config edited behind the manifest's back is refused; the previous build stays served.
	writeOutput(t, dir, 3)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "w1.ign"), []byte("tampered"), 0o600))
	_, err = s.Reload()
	require.ErrorContains(t, err, "w1.ign does not match the sha256")
	assert.Contains(t, get(s.Handler(), "/ignition?name=w1").Body.String(), `"v":2`)

	// Watch picks a good build up by itself.
	writeOutput(t, dir, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Watch(ctx, 10*time.Millisecond)
	require.Eventually(t, func() bool {
		return strings.Contains(get(s.Handler(), "/ignition?name=w1").Body.String(), `"v":4`)
	}, 5*time.Second, 10*time.Millisecond)
	assert.Contains(t, log.String(), "reloaded "+dir+": cluster demo, 3 node(s)")
}

func TestNewRefusesNonOutput(t *testing.T) {
	_, err := New(Options{Dir: t.TempDir()})
	assert.ErrorContains(t, err, "is not a build output")
}

// TestConcurrentClients: many clients fetch distinct nodes while new builds are loaded under them;
// every response must be exactly the asked node's config of some build already written.
func TestConcurrentClients(t *testing.T) {
	s, dir := newServer(t, io.Discard)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	targets := map[string]string{ // node -> query
		"cp1": "mac=52-54-00-00-00-11", "w1": "mac=52:54:00:00:00:21", "w2": "name=w2"}
	var written atomic.Int64 // newest version on disk
	written.Store(1)
	stop := make(chan struct{})
	reloads := make(chan int)
	go func() {
		n := 0
		defer func() { reloads <- n }()
		for v := 2; ; v++ {
			select {
			case <-stop:
				return
			default:
			}
			writeOutput(t, dir, v)
			written.Store(int64(v))
			if changed, err := s.Reload(); err == nil && changed {
				n++
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fakeNodes[i%len(fakeNodes)].name
			for range 40 {
				resp, err := srv.Client().Get(srv.URL + "/ignition?" + targets[name])
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err := checkConfig(name, b, int(written.Load())); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	assert.Greater(t, <-reloads, 1, "builds must change while clients fetch")
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// checkConfig says whether body is exactly node's config of a version at most newest.
func checkConfig(node string, body []byte, newest int) error {
	var c struct {
		Node string `json:"node"`
		V    int    `json:"v"`
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return fmt.Errorf("%s: not a config: %q", node, body)
	}
	if c.Node != node || c.V < 1 || c.V > newest || string(body) != string(fakeConfig(node, c.V)) {
		return fmt.Errorf("%s: got %q (newest version %d)", node, body, newest)
	}
	return nil
}

func TestCheckConfigCatchesMixUps(t *testing.T) {
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{string(fakeConfig("cp1", 3)), true},
		{string(fakeConfig("w1", 3)), false},  // another node's bytes
		{string(fakeConfig("cp1", 9)), false}, // a build not yet written
		{string(fakeConfig("cp1", 3)) + " ", false},
		{string(fakeConfig("cp1", 3))[:20], false},
	} {
		assert.Equal(t, tc.ok, checkConfig("cp1", []byte(tc.body), 5) == nil, tc.body)
	}
}
