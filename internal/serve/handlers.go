package serve

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
)

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	sn := s.snap.Load()
	fmt.Fprintf(w, "ok: cluster %s, %d node(s)\n", sn.m.Cluster, len(sn.m.Nodes))
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

// resolve finds the node an /ignition request names, writing the error response itself when it fails.
func (s *Server) resolve(w http.ResponseWriter, r *http.Request, sn *snapshot) (*node, bool) {
	q := r.URL.Query()
	switch {
	case q.Has("mac"):
		n, ok := s.byMAC(w, r, sn)
		if !ok {
			return nil, false
		}
		if name := q.Get("name"); q.Has("name") && name != n.Name {
			textError(w, http.StatusNotFound, "ignigen: MAC %s belongs to node %s, not %q", n.MAC, n.Name, name)
			return nil, false
		}
		return n, true
	case q.Has("name"):
		name := q.Get("name")
		n := sn.byName[name]
		note(r, "", name)
		switch {
		case n == nil:
			textError(w, http.StatusNotFound, "ignigen: cluster %s has no node %q", sn.m.Cluster, name)
			return nil, false
		case holdsCAKeys(n):
			// Control-plane configs hold the cluster's CA keys: only the machine with that MAC gets one.
			textError(w, http.StatusForbidden, "ignigen: node %s is a %s: its config holds CA keys and is served only by MAC (?mac=)", n.Name, n.Role)
			return nil, false
		}
		return n, true
	default:
		textError(w, http.StatusBadRequest, "ignigen: give ?mac=MAC (or ?name=NODE for a worker)")
		return nil, false
	}
}

func (s *Server) ignition(w http.ResponseWriter, r *http.Request) {
	sn := s.snap.Load()
	n, ok := s.resolve(w, r, sn)
	if !ok {
		return
	}
	if s.ledger != nil && holdsCAKeys(n) && !s.deliverOnce(w, r, sn, n) {
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
	io.WriteString(w, Script(sn.m, sn.os, n.NodeSummary, baseURL(r)))
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
