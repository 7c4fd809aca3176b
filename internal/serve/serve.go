package serve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ignigen/ignigen/internal/build"
)

// Options configure a Server.
type Options struct {
	Dir       string    // build output directory holding manifest.json
	AssetsDir string    // served under /assets/ (kernel, initramfs); empty: none
	Log       io.Writer // access log and reload messages
	Now       func() time.Time
}

type node struct {
	build.NodeSummary
	config []byte
}

// snapshot is one consistent view of the build output.
type snapshot struct {
	manifest []byte // raw manifest.json, to notice changes
	m        build.Manifest
	byMAC    map[string]*node
	byName   map[string]*node
}

// Server answers /ipxe, /ignition, /assets/ and /healthz from the last good snapshot of Dir.
type Server struct {
	opts  Options
	snap  atomic.Pointer[snapshot]
	logMu sync.Mutex
}

// New loads Dir once; it fails when Dir is not a complete, consistent build output.
func New(opts Options) (*Server, error) {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts}
	if _, err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Nodes returns how many nodes the current snapshot serves.
func (s *Server) Nodes() int { return len(s.snap.Load().m.Nodes) }

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
	s.snap.Store(sn)
	return true, nil
}

func load(dir string, raw []byte) (*snapshot, error) {
	sn := &snapshot{manifest: raw, byMAC: map[string]*node{}, byName: map[string]*node{}}
	if err := json.Unmarshal(raw, &sn.m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, build.ManifestFile), err)
	}
	for _, ns := range sn.m.Nodes {
		if ns.File != filepath.Base(ns.File) || ns.File == "" {
			return nil, fmt.Errorf("manifest node %q: file %q is not a plain file name", ns.Name, ns.File)
		}
		data, err := os.ReadFile(filepath.Join(dir, ns.File))
		if err != nil {
			return nil, err
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
			}
		}
	}
}

func (s *Server) logf(format string, args ...any) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	fmt.Fprintf(s.opts.Log, "%s %s\n", s.opts.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, args...))
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
			http.NewResponseController(w).SetWriteDeadline(time.Now().Add(AssetWriteTimeout))
			fs.ServeHTTP(w, r)
		})
	}
	return s.accessLog(mux)
}

// logged is what the access log needs to know about a request.
type logged struct {
	http.ResponseWriter
	status int
	bytes  int64
	mac    string
	node   string
}

func (l *logged) WriteHeader(code int) {
	if l.status == 0 {
		l.status = code
	}
	l.ResponseWriter.WriteHeader(code)
}

func (l *logged) Write(p []byte) (int, error) {
	if l.status == 0 {
		l.status = http.StatusOK
	}
	n, err := l.ResponseWriter.Write(p)
	l.bytes += int64(n)
	return n, err
}

func (l *logged) Unwrap() http.ResponseWriter { return l.ResponseWriter }

type ctxKey struct{}

// note records the MAC and node a handler resolved, for the access log.
func note(r *http.Request, mac, name string) {
	if l, ok := r.Context().Value(ctxKey{}).(*logged); ok {
		l.mac, l.node = mac, name
	}
}

func (s *Server) accessLog(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.opts.Now()
		l := &logged{ResponseWriter: w}
		h.ServeHTTP(l, r.WithContext(context.WithValue(r.Context(), ctxKey{}, l)))
		if l.status == 0 {
			l.status = http.StatusOK
		}
		s.logf("client=%s method=%s path=%s mac=%s node=%s status=%d bytes=%d duration=%s",
			r.RemoteAddr, r.Method, strconv.Quote(r.URL.Path), orDash(l.mac), orDash(l.node), l.status, l.bytes,
			s.opts.Now().Sub(start).Round(time.Microsecond))
	})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	sn := s.snap.Load()
	fmt.Fprintf(w, "ok: cluster %s, %d node(s)\n", sn.m.Cluster, len(sn.m.Nodes))
}

// ParseMAC accepts aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff (iPXE's ${mac:hexhyp}) and returns the colon form.
func ParseMAC(s string) (string, error) {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return "", fmt.Errorf("%q is not a MAC address", s)
	}
	return hw.String(), nil
}

func textError(w http.ResponseWriter, code int, format string, args ...any) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintf(w, format+"\n", args...)
}

// byMAC resolves ?mac=, writing the error response itself when it fails.
func (s *Server) byMAC(w http.ResponseWriter, r *http.Request, sn *snapshot) (*node, bool) {
	raw := r.URL.Query().Get("mac")
	mac, err := ParseMAC(raw)
	if err != nil {
		note(r, raw, "")
		textError(w, http.StatusBadRequest, "ignigen: %v; use ?mac=52-54-00-12-34-56 (iPXE: ${mac:hexhyp})", err)
		return nil, false
	}
	n, ok := sn.byMAC[mac]
	if !ok {
		note(r, mac, "")
		textError(w, http.StatusNotFound, "ignigen: no node of cluster %s has MAC %s", sn.m.Cluster, mac)
		return nil, false
	}
	note(r, mac, n.Name)
	return n, true
}

func (s *Server) ignition(w http.ResponseWriter, r *http.Request) {
	sn := s.snap.Load()
	q := r.URL.Query()
	var n *node
	switch {
	case q.Has("mac"):
		var ok bool
		if n, ok = s.byMAC(w, r, sn); !ok {
			return
		}
		if name := q.Get("name"); q.Has("name") && name != n.Name {
			textError(w, http.StatusNotFound, "ignigen: MAC %s belongs to node %s, not %q", n.MAC, n.Name, name)
			return
		}
	case q.Has("name"):
		name := q.Get("name")
		n = sn.byName[name]
		note(r, "", name)
		switch {
		case n == nil:
			textError(w, http.StatusNotFound, "ignigen: cluster %s has no node %q", sn.m.Cluster, name)
			return
		case n.Role != "worker":
			// Control-plane configs hold the cluster's CA keys: only the machine with that MAC gets one.
			textError(w, http.StatusForbidden, "ignigen: node %s is a %s: its config holds CA keys and is served only by MAC (?mac=)", n.Name, n.Role)
			return
		}
	default:
		textError(w, http.StatusBadRequest, "ignigen: give ?mac=MAC (or ?name=NODE for a worker)")
		return
	}
	w.Header().Set("Content-Type", "application/vnd.coreos.ignition+json")
	w.Header().Set("Content-Length", strconv.Itoa(len(n.config)))
	w.Header().Set("Cache-Control", "no-store")
	w.Write(n.config)
}

func (s *Server) ipxe(w http.ResponseWriter, r *http.Request) {
	sn := s.snap.Load()
	n, ok := s.byMAC(w, r, sn)
	if !ok {
		return
	}
	if sn.m.PXE == nil || sn.m.PXE.KernelURL == "" {
		textError(w, http.StatusNotFound, "ignigen: the build has no pxe section (rebuild with a current ignigen)")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, Script(sn.m, n.NodeSummary, baseURL(r)))
}

// baseURL is how this client reached the server (scheme and Host header), so the URLs in the
// script work from the machine that asked (e.g. 10.0.2.2 under QEMU user networking).
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// Script is node n's iPXE script: boot the PXE kernel and initramfs with the kernel arguments that
// make Ignition fetch n's config from base.
func Script(m build.Manifest, n build.NodeSummary, base string) string {
	abs := func(u string) string {
		if strings.HasPrefix(u, "/") {
			return base + u
		}
		return u
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#!ipxe\n# ignigen: node %s (%s) of cluster %s\n", n.Name, n.Role, m.Cluster)
	args := []string{abs(m.PXE.KernelURL)}
	for _, u := range m.PXE.InitrdURLs {
		args = append(args, "initrd="+path.Base(stripQuery(u)))
	}
	args = append(args, "flatcar.first_boot=1",
		"ignition.config.url="+base+"/ignition?mac="+strings.ReplaceAll(n.MAC, ":", "-"))
	args = append(args, m.PXE.ExtraArgs...)
	fmt.Fprintf(&b, "kernel %s\n", strings.Join(args, " "))
	for _, u := range m.PXE.InitrdURLs {
		fmt.Fprintf(&b, "initrd %s\n", abs(u))
	}
	b.WriteString("boot\n")
	return b.String()
}

func stripQuery(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Path
	}
	return u
}

// Timeouts on every connection. AssetWriteTimeout applies to /assets/ responses.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = 60 * time.Second
	AssetWriteTimeout = 30 * time.Minute
	ShutdownTimeout   = 10 * time.Second
)

// HTTPServer wraps h with the timeouts every connection gets.
func HTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    16 << 10,
	}
}

// Run serves on ln until ctx ends, then shuts down gracefully (in-flight requests get ShutdownTimeout).
// With certFile and keyFile it serves HTTPS.
func (s *Server) Run(ctx context.Context, ln net.Listener, certFile, keyFile string, reloadEvery time.Duration) error {
	hs := HTTPServer(s.Handler())
	hs.ErrorLog = nil
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
