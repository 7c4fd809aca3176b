package serve

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAccessLog(t *testing.T) {
	var log syncBuffer
	s, _ := newServer(t, &log)
	s.opts.Now = func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }
	h := s.Handler()
	get(h, "/ignition?mac=52-54-00-00-00-11")
	get(h, "/ipxe?mac=52-54-00-00-00-99")
	// A client's raw text is quoted, so it cannot add a line or a field of its own.
	get(h, "/ipxe?mac=x%0A2025-01-01T00:00:00Z%20client=evil%20node=cp1")
	get(h, "/ignition?name=w1%20status=200")
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	require.Len(t, lines, 4)
	assert.Regexp(t, `^2025-01-02T03:04:05Z client=192\.0\.2\.1:1234 method=GET path="/ignition" mac=52:54:00:00:00:11 node=cp1 status=200 bytes=\d+ duration=0s$`, lines[0])
	assert.Contains(t, lines[1], `path="/ipxe" mac=52:54:00:00:00:99 node=- status=404`)
	assert.Contains(t, lines[2], `mac="x\n2025-01-01T00:00:00Z client=evil node=cp1" node=- status=400`)
	assert.Contains(t, lines[3], `mac=- node="w1 status=200" status=404`)
}
