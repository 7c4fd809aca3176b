package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunTLSAndGracefulShutdown(t *testing.T) {
	var log syncBuffer
	s, dir := newServer(t, &log)
	cert, key, pool := selfSigned(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln, cert, key, time.Second) }()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	var resp *http.Response
	require.Eventually(t, func() bool {
		resp, err = c.Get("https://" + ln.Addr().String() + "/ignition?mac=52-54-00-00-00-11")
		return err == nil
	}, 5*time.Second, 20*time.Millisecond)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, config(t, dir, "cp1"), string(body))
	// iPXE scripts point back over HTTPS.
	resp, err = c.Get("https://" + ln.Addr().String() + "/ipxe?mac=52-54-00-00-00-11")
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(body), "ignition.config.url=https://"+ln.Addr().String()+"/ignition?mac=52-54-00-00-00-11")
	// net/http's own errors reach the serve log (ErrorLog), with its timestamps.
	if resp, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		resp.Body.Close()
	}
	require.Eventually(t, func() bool { return strings.Contains(log.String(), "Z http: TLS handshake error from 127.0.0.1:") },
		5*time.Second, 10*time.Millisecond, log.String())
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(ShutdownTimeout + 2*time.Second):
		t.Fatal("no shutdown")
	}
}

// TestTimeouts: a client that stalls in its header, or idles after a response, is cut off after
// that timeout; with a long timeout the same connection is still open (the negative control).
func TestTimeouts(t *testing.T) {
	const short, long = 200 * time.Millisecond, time.Minute
	header := "GET /healthz HTTP/1.1\r\nHost: x\r\n" // no blank line: the header never ends
	full := header + "\r\n"
	for _, tc := range []struct {
		name     string
		timeouts Timeouts
		send     string
		closes   bool
	}{
		{"header stalls, short ReadHeader", Timeouts{ReadHeader: short, Read: long, Write: long, Idle: long}, header, true},
		{"header stalls, long ReadHeader", Timeouts{ReadHeader: long, Read: long, Write: long, Idle: long}, header, false},
		{"idle after a response, short Idle", Timeouts{ReadHeader: long, Read: long, Write: long, Idle: short}, full, true},
		{"idle after a response, long Idle", Timeouts{ReadHeader: long, Read: long, Write: long, Idle: long}, full, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newServer(t, io.Discard)
			s.opts.Timeouts = tc.timeouts
			addr := serveOn(t, s)
			start := time.Now() // before the server's clock starts, at accept
			c, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer c.Close()
			_, err = io.WriteString(c, tc.send)
			require.NoError(t, err)
			// Read the response (if any) until the server closes or a second has passed.
			require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Second)))
			_, err = io.Copy(io.Discard, c)
			var ne net.Error
			timedOut := errors.As(err, &ne) && ne.Timeout()
			assert.Equal(t, tc.closes, !timedOut, "server closed the connection (err %v)", err)
			if tc.closes {
				assert.GreaterOrEqual(t, time.Since(start), short, "closed before the timeout")
			}
		})
	}
}

// serveOn runs s on a loopback port until the test ends.
func serveOn(t *testing.T, s *Server) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln, "", "", 0) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}
