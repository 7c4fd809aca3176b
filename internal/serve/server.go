package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Server.
type Options struct {
	Dir       string    // build output directory holding manifest.json
	AssetsDir string    // served under /assets/ (kernel, initramfs); empty: none
	Log       io.Writer // access log and reload messages
	Now       func() time.Time
	Timeouts  Timeouts // zero: DefaultTimeouts
	// OneTime serves each control-plane config at most once per build (until re-armed), keeping
	// the record in LedgerPath(Dir). Workers' configs hold no CA keys and stay re-fetchable.
	OneTime bool
}

// Server answers /ipxe, /ignition, /assets/ and /healthz from the last good snapshot of Dir.
type Server struct {
	opts   Options
	snap   atomic.Pointer[snapshot]
	ledger *ledger // nil unless OneTime
	logMu  sync.Mutex
}

// New loads Dir once; it fails when Dir is not a complete, consistent build output.
func New(opts Options) (*Server, error) {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Timeouts == (Timeouts{}) {
		opts.Timeouts = DefaultTimeouts
	}
	s := &Server{opts: opts}
	if opts.OneTime {
		path, err := LedgerPath(opts.Dir)
		if err != nil {
			return nil, err
		}
		s.ledger = &ledger{path: path}
	}
	if _, err := s.Reload(); err != nil {
		return nil, err
	}
	if s.ledger != nil {
		// A damaged record stops serve here rather than at a node's first request.
		if _, err := s.ledger.delivered(s.snap.Load().build); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Nodes returns how many nodes the current snapshot serves.
func (s *Server) Nodes() int { return len(s.snap.Load().m.Nodes) }

func (s *Server) logf(format string, args ...any) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	fmt.Fprintf(s.opts.Log, "%s %s\n", s.opts.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, args...))
}

// Write lets net/http's connection-level errors (TLS handshakes, bad requests) reach the same
// log as requests, with the same timestamps.
func (s *Server) Write(p []byte) (int, error) {
	s.logf("%s", trimNewline(p))
	return len(p), nil
}

func trimNewline(p []byte) string {
	if n := len(p); n > 0 && p[n-1] == '\n' {
		p = p[:n-1]
	}
	return string(p)
}

// Handler is the HTTP interface.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /ipxe", s.ipxe)
	mux.HandleFunc("GET /ignition", s.ignition)
	if s.opts.AssetsDir != "" {
		fs := http.StripPrefix("/assets/", http.FileServer(http.Dir(s.opts.AssetsDir)))
		mux.HandleFunc("GET /assets/", func(w http.ResponseWriter, r *http.Request) {
			// Kernels and initramfs images are large: allow slow links more than the default write timeout.
			http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.opts.Timeouts.AssetWrite))
			fs.ServeHTTP(w, r)
		})
	}
	return s.accessLog(mux)
}

// Timeouts bound every connection, so a slow or stuck client cannot hold one open for ever.
type Timeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
	AssetWrite                    time.Duration // per /assets/ response, instead of Write
}

// DefaultTimeouts are what `ignigen serve` uses.
var DefaultTimeouts = Timeouts{
	ReadHeader: 10 * time.Second,
	Read:       30 * time.Second,
	Write:      30 * time.Second,
	Idle:       60 * time.Second,
	AssetWrite: 30 * time.Minute,
}

// ShutdownTimeout is how long in-flight requests get after SIGINT or SIGTERM.
const ShutdownTimeout = 10 * time.Second

func (s *Server) httpServer() *http.Server {
	t := s.opts.Timeouts
	return &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          log.New(s, "", 0),
	}
}

// Run serves on ln until ctx ends, then shuts down gracefully (in-flight requests get ShutdownTimeout).
// With certFile and keyFile it serves HTTPS.
func (s *Server) Run(ctx context.Context, ln net.Listener, certFile, keyFile string, reloadEvery time.Duration) error {
	hs := s.httpServer()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if reloadEvery > 0 {
		go s.Watch(wctx, reloadEvery)
	}
	errc := make(chan error, 1)
	go func() {
		if certFile != "" {
			errc <- hs.ServeTLS(ln, certFile, keyFile)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.logf("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer scancel()
	err := hs.Shutdown(sctx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}
