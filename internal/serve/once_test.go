package serve

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func oneTimeServer(t *testing.T, dir string, log *syncBuffer) *Server {
	s, err := New(Options{Dir: dir, Log: log, OneTime: true})
	require.NoError(t, err)
	return s
}

// getFrom is get with a client address, as the 410's log line names it.
func getFrom(h http.Handler, client, target string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", target, nil)
	r.RemoteAddr = client
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestOneTimeDelivery(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	require.NoError(t, os.Mkdir(dir, 0o700))
	writeOutput(t, dir, 1)
	var log syncBuffer
	s := oneTimeServer(t, dir, &log)
	assert.Equal(t, "control-plane configs fetched: none; not yet: cp1", s.DeliveryStatus())

	const cp1 = "/ignition?mac=52-54-00-00-00-11"
	steps := []struct {
		name   string
		do     func() // before the request; nil: none
		target string
		status int
	}{
		{"first request for a control plane", nil, cp1, 200},
		{"second request", nil, cp1, 410},
		{"a worker, again and again", nil, "/ignition?mac=52-54-00-00-00-21", 200},
		{"a worker, again and again", nil, "/ignition?mac=52-54-00-00-00-21", 200},
		{"a worker by name", nil, "/ignition?name=w2", 200},
		{"after a restart of serve", func() { s = oneTimeServer(t, dir, &log) }, cp1, 410},
		{"the iPXE script is no secret", nil, "/ipxe?mac=52-54-00-00-00-11", 200},
		{"re-armed", func() {
			msg, err := s.Rearm([]string{"cp1"})
			require.NoError(t, err)
			assert.Equal(t, "re-armed cp1", msg)
		}, cp1, 200},
		{"after the re-armed delivery", nil, cp1, 410},
		{"a new build", func() { writeOutput(t, dir, 2); _, err := s.Reload(); require.NoError(t, err) }, cp1, 200},
		{"the new build's second request", nil, cp1, 410},
	}
	for i, st := range steps {
		if st.do != nil {
			st.do()
		}
		w := getFrom(s.Handler(), "192.0.2.7:4321", st.target)
		require.Equal(t, st.status, w.Code, "step %d %s: %s", i, st.name, w.Body.String())
		if st.status == 410 {
			assert.NotContains(t, w.Body.String(), `"ignition"`, "a refusal never carries a config")
		}
	}
	assert.Contains(t, log.String(), "WARNING: a second machine asked for control-plane node cp1's config: client=192.0.2.7:4321")
	assert.Contains(t, s.DeliveryStatus(), "fetched: cp1 (client=192.0.2.7:4321 at ")

	// The record is beside the build output, owner-only, and names the build it is for.
	fi, err := os.Stat(dir + ".delivered.json")
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	entries, err := os.ReadDir(filepath.Dir(dir))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"out", "out.delivered.json", "out.delivered.json.lock"}, names, "no temporary file is left")
}

// TestOneTimeConcurrent: many requests for one control-plane config at once, through two Servers
// on the same directory (as two processes would be): exactly one gets it.
func TestOneTimeConcurrent(t *testing.T) {
	dir := t.TempDir()
	writeOutput(t, dir, 1)
	var log syncBuffer
	handlers := []http.Handler{oneTimeServer(t, dir, &log).Handler(), oneTimeServer(t, dir, &log).Handler()}
	const n = 64
	codes := make(chan int, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes <- getFrom(handlers[i%2], "192.0.2.9:1", "/ignition?mac=52-54-00-00-00-11").Code
		}()
	}
	close(start)
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	assert.Equal(t, map[int]int{200: 1, 410: n - 1}, count)
}

func TestOneTimeFailsClosed(t *testing.T) {
	t.Run("unrecordable delivery is not made", func(t *testing.T) {
		dir := t.TempDir()
		writeOutput(t, dir, 1)
		var log syncBuffer
		s := oneTimeServer(t, dir, &log)
		require.NoError(t, os.Mkdir(dir+".delivered.json", 0o700)) // cannot be read or replaced
		w := get(s.Handler(), "/ignition?mac=52-54-00-00-00-11")
		assert.Equal(t, 503, w.Code)
		assert.NotContains(t, w.Body.String(), `"ignition"`)
		assert.Contains(t, log.String(), "cannot record node cp1's delivery")
	})
	t.Run("damaged record stops serve", func(t *testing.T) {
		dir := t.TempDir()
		writeOutput(t, dir, 1)
		require.NoError(t, os.WriteFile(dir+".delivered.json", []byte("{"), 0o600))
		_, err := New(Options{Dir: dir, OneTime: true})
		assert.ErrorContains(t, err, "is damaged")
		assert.ErrorContains(t, err, "delete it to re-arm")
	})
	t.Run("a request from a replaced build", func(t *testing.T) {
		l := &ledger{path: filepath.Join(t.TempDir(), "x.delivered.json")}
		l.setBuild("new")
		_, err := l.claim("old", "cp1", "192.0.2.1:1", time.Now())
		assert.ErrorIs(t, err, errStale)
		_, err = os.Stat(l.path)
		assert.ErrorIs(t, err, os.ErrNotExist, "nothing written")
	})
}

func TestRearm(t *testing.T) {
	dir := t.TempDir()
	writeOutput(t, dir, 1)
	s := oneTimeServer(t, dir, &syncBuffer{})
	for _, tc := range []struct {
		names []string
		msg   string // "!" + fragment: an error
	}{
		{[]string{"cp1"}, "cp1 had not been delivered"},
		{[]string{"nope"}, `!has no node "nope"`},
		{[]string{"w1"}, "!is a worker"},
	} {
		msg, err := s.Rearm(tc.names)
		if f, ok := strings.CutPrefix(tc.msg, "!"); ok {
			assert.ErrorContains(t, err, f, tc.names)
		} else {
			assert.NoError(t, err)
			assert.Equal(t, tc.msg, msg)
		}
	}
	off, _ := newServer(t, &syncBuffer{})
	_, err := off.Rearm([]string{"cp1"})
	assert.ErrorContains(t, err, "one-time delivery is off")
}

// TestRearmFromAnotherProcess: `ignigen serve --rearm` runs as a second process; the running
// server honours it at the node's next request, without a restart.
func TestRearmFromAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	writeOutput(t, dir, 1)
	running := oneTimeServer(t, dir, &syncBuffer{})
	const cp1 = "/ignition?mac=52-54-00-00-00-11"
	require.Equal(t, 200, get(running.Handler(), cp1).Code)
	require.Equal(t, 410, get(running.Handler(), cp1).Code)
	msg, err := oneTimeServer(t, dir, &syncBuffer{}).Rearm([]string{"cp1"})
	require.NoError(t, err)
	assert.Equal(t, "re-armed cp1", msg)
	assert.Equal(t, 200, get(running.Handler(), cp1).Code)
	assert.Equal(t, 410, get(running.Handler(), cp1).Code)
}
