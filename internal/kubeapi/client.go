package kubeapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ignigen/ignigen/internal/kubeconfig"
)

// DialFunc opens a connection; nil means the system's dialer.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Client calls one API server as the kubeconfig's user, verifying the server against its CA.
type Client struct {
	server string
	hc     *http.Client
}

// New makes a client from kubeconfig credentials. dial may be nil.
func New(c *kubeconfig.Credentials, dial DialFunc) (*Client, error) {
	if !strings.HasPrefix(c.Server, "https://") {
		return nil, fmt.Errorf("server %q: only https is supported", c.Server)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.CA) {
		return nil, errors.New("certificate-authority-data holds no PEM certificate")
	}
	if len(c.Cert) == 0 || len(c.Key) == 0 {
		return nil, errors.New("the kubeconfig's user has no client certificate")
	}
	cert, err := tls.X509KeyPair(c.Cert, c.Key)
	if err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
		Proxy:               http.ProxyFromEnvironment,
	}
	if dial != nil {
		tr.DialContext = dial
	}
	return &Client{server: strings.TrimSuffix(c.Server, "/"), hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}, nil
}

// StatusError is an API answer other than the one expected, with the server's message.
type StatusError struct {
	Code    int
	Reason  string // the Status object's reason, e.g. AlreadyExists, Forbidden
	Message string
}

func (e *StatusError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Code)
	}
	return fmt.Sprintf("API server answered %d %s: %s", e.Code, e.Reason, msg)
}

// post sends obj as JSON to path and wants HTTP 201 Created.
func (c *Client) post(ctx context.Context, path string, obj any) error {
	body, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.server+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusCreated {
		return nil
	}
	se := &StatusError{Code: resp.StatusCode}
	var st struct {
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &st) == nil {
		se.Reason, se.Message = st.Reason, st.Message
	}
	return se
}
