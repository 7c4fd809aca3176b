// Package fakeapi is an httptest stand-in for kube-apiserver, for tests of ignigen's API calls.
package fakeapi

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Server is an httptest TLS server standing in for kube-apiserver: it demands a client
// certificate signed by the cluster CA, records each request and answers with Status/Body.
type Server struct {
	*httptest.Server
	CAPEM []byte // the server's own certificate, for a kubeconfig's certificate-authority-data

	mu       sync.Mutex
	Status   int    // answer code; 201 unless set
	Body     string // answer body
	requests []Request
}

// Request is one request the fake API received.
type Request struct {
	Method, Path, ContentType, ClientCN string
	Body                                []byte
}

// New starts a fake API trusting client certificates of clusterCA (PEM); it stops with t.
func New(t testing.TB, clusterCA []byte) *Server {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(clusterCA) {
		t.Fatal("fake API: no CA certificate")
	}
	f := &Server{Status: http.StatusCreated, Body: `{"kind":"Secret"}`}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		cn := ""
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			cn = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		f.mu.Lock()
		f.requests = append(f.requests, Request{r.Method, r.URL.Path, r.Header.Get("Content-Type"), cn, body})
		status, answer := f.Status, f.Body
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	f.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, MinVersion: tls.VersionTLS12}
	f.StartTLS()
	t.Cleanup(f.Close)
	f.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.Certificate().Raw})
	return f
}

// Answer sets what the next requests get.
func (f *Server) Answer(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Status, f.Body = status, body
}

// Requests returns every request so far.
func (f *Server) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}
