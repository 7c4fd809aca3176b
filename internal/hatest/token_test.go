//go:build hatest

package hatest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ignigen/ignigen/internal/cli"
	"github.com/ignigen/ignigen/internal/ignfiles"
	"github.com/ignigen/ignigen/internal/kubeconfig"
	"github.com/ignigen/ignigen/internal/secrets"
	"github.com/ignigen/ignigen/internal/testkit"
)

// tokenCreate runs `ignigen token create` through cli.Run, reaching the VIP from the client
// namespace, with the clock at now, and returns the token it stored in the bundle.
func (c *cluster) tokenCreate(t *testing.T, now time.Time, ttl string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &cli.Env{Stdout: &stdout, Stderr: &stderr, Now: func() time.Time { return now }, Dial: dialer(c.client)}
	if code := cli.Run([]string{"token", "create", "--ttl", ttl, "-o", c.out}, env); code != 0 {
		t.Fatalf("ignigen token create: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	t.Logf("ignigen token create --ttl %s (clock %s):\n%s", ttl, now.UTC().Format(time.RFC3339), stdout.String())
	b, _, err := secrets.Load(filepath.Join(c.out, "secrets.yaml"), time.Now())
	testkit.Must(t, err)
	if !strings.Contains(stdout.String(), secrets.TokenID(b.BootstrapToken)) || strings.Contains(stdout.String()+stderr.String(), b.BootstrapToken) {
		t.Fatalf("token create must print the token id and never the token")
	}
	return b.BootstrapToken
}

// whoami asks kube-apiserver at server (from the client namespace, trusting only the cluster CA)
// who a bearer token is, with a SelfSubjectReview: a real bootstrap-token authentication.
func (c *cluster) whoami(ctx context.Context, ca []byte, server, token string) (code int, user string, groups []string, err error) {
	hc := c.caClient(ca)
	body := `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, server+"/apis/authentication.k8s.io/v1/selfsubjectreviews", strings.NewReader(body))
	if err != nil {
		return 0, "", nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var r struct {
		Status struct {
			UserInfo struct {
				Username string   `json:"username"`
				Groups   []string `json:"groups"`
			} `json:"userInfo"`
		} `json:"status"`
	}
	if resp.StatusCode == http.StatusCreated {
		if err := json.Unmarshal(data, &r); err != nil {
			return resp.StatusCode, "", nil, err
		}
	}
	return resp.StatusCode, r.Status.UserInfo.Username, r.Status.UserInfo.Groups, nil
}

// caClient is an HTTPS client in the client namespace that trusts only the cluster CA and
// presents no certificate.
func (c *cluster) caClient(ca []byte) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext:       dialer(c.client),
		TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		DisableKeepAlives: true,
	}}
}

// redact hides every token's secret half in s before it is logged.
func redact(s string, tokens ...string) string {
	for _, tok := range tokens {
		if id, sec, ok := strings.Cut(tok, "."); ok {
			s = strings.ReplaceAll(s, tok, id+".<secret>")
			s = strings.ReplaceAll(s, sec, "<secret>")
		}
	}
	return s
}

// proveTokenCreate shows that a token from `ignigen token create` is a bootstrap token the real
// kube-apiservers accept (as user system:bootstrap:ID in kubeadm's node group) and that the
// real `kubeadm token list` reads as its own, while an expired token and one never registered
// are refused.
func (c *cluster) proveTokenCreate(t *testing.T, ctx context.Context, kc *kubeconfig.Credentials) {
	for _, n := range c.nodes {
		if v, _ := Flag(n.apiSrv, "enable-bootstrap-token-auth"); v != "true" {
			t.Fatalf("kube-apiserver of %s runs without --enable-bootstrap-token-auth=true", n.name)
		}
	}
	began := time.Now()
	// Registered with the clock two hours back and a TTL of one hour: expired an hour ago.
	expired := c.tokenCreate(t, time.Now().Add(-2*time.Hour), "1h")
	fresh := c.tokenCreate(t, time.Now(), "2h")
	never, err := secrets.NewToken(rand.Reader)
	testkit.Must(t, err)
	created := time.Since(began)

	// Every API server, addressed directly, so none is left out behind the VIP.
	id := secrets.TokenID(fresh)
	for _, n := range c.nodes {
		server := "https://" + net.JoinHostPort(n.ip.String(), strconv.Itoa(c.bindPort))
		t0 := time.Now()
		if err := waitFor(ctx, 20*time.Second, "bootstrap token accepted by "+n.name, func() error {
			code, user, groups, err := c.whoami(ctx, kc.CA, server, fresh)
			switch {
			case err != nil:
				return err
			case code != http.StatusCreated:
				return fmt.Errorf("HTTP %d", code)
			case user != "system:bootstrap:"+id:
				return fmt.Errorf("authenticated as %q", user)
			case !contains(groups, "system:bootstrappers") || !contains(groups, "system:bootstrappers:kubeadm:default-node-token"):
				return fmt.Errorf("groups %v", groups)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		accepted := time.Since(t0)
		// The negative controls, after the newer token was seen: the informer has the older Secret too.
		for _, neg := range []struct{ what, token string }{{"expired", expired}, {"never registered", never}} {
			code, user, _, err := c.whoami(ctx, kc.CA, server, neg.token)
			if err != nil || code != http.StatusUnauthorized {
				t.Errorf("%s: the %s token got HTTP %d as %q (err %v), want 401", n.name, neg.what, code, user, err)
			}
		}
		t.Logf("TOKEN-RESULT node=%s new-token=accepted user=system:bootstrap:%s accepted-after=%s expired-token=401 unregistered-token=401", n.name, id, accepted.Round(time.Millisecond))
	}

	// kubeadm's own reading of the Secrets, through the VIP with the generated admin.kubeconfig.
	out, err := runErr(ctx, "ip", "netns", "exec", c.client, c.tools["kubeadm"], "token", "list", "--kubeconfig", filepath.Join(c.out, "admin.kubeconfig"))
	shown := redact(out, expired, fresh)
	if err != nil {
		t.Fatalf("kubeadm token list: %v\n%s", err, shown)
	}
	t.Logf("kubeadm token list:\n%s", shown)
	lines := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			lines[strings.SplitN(f[0], ".", 2)[0]] = l
		}
	}
	for _, tc := range []struct{ token, ttl string }{{fresh, "1h"}, {expired, "<invalid>"}} {
		l := lines[secrets.TokenID(tc.token)]
		for _, want := range []string{tc.token, tc.ttl, "authentication,signing", "ignigen token create", "system:bootstrappers:kubeadm:default-node-token"} {
			if !strings.Contains(l, want) {
				t.Errorf("kubeadm token list: the line of %s lacks %q: %s", secrets.TokenID(tc.token), redact(want, tc.token), redact(l, tc.token))
			}
		}
	}
	t.Logf("TOKEN-RESULT token-create-both=%s kubeadm-token-list=ok", created.Round(time.Millisecond))

	c.proveDiscovery(t, ctx, kc, fresh, expired)
}

// proveDiscovery runs what a late node does: the rebuilt worker config's JoinConfiguration goes
// through the real kubeadm's bootstrap-token discovery (cluster-info fetched anonymously through
// the VIP, its JWS signature checked with the token, the CA pinned by caCertHashes, then the
// kubeadm-config read as the token's user). cluster-info and its RBAC come from kubeadm init's
// own bootstrap-token phase, the signature from kube-controller-manager's bootstrap signer,
// the one controller started here and stopped afterwards.
func (c *cluster) proveDiscovery(t *testing.T, ctx context.Context, kc *kubeconfig.Credentials, fresh, expired string) {
	var first *node
	for _, n := range c.nodes {
		if n.init {
			first = n
		}
	}
	ka := c.tools["kubeadm"]
	first.exec(ctx, ka, "init", "phase", "bootstrap-token", "--config", first.kubeadm)
	// The kubelet-config ConfigMap and its RBAC for joining nodes, which discovery reads next.
	// The phase then annotates the init node's Node object, which does not exist here (no
	// kubelet): that step may fail, or time out, after the ConfigMap is made.
	uctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	if out, err := first.execErr(uctx, ka, "init", "phase", "upload-config", "kubelet", "--config", first.kubeadm); err != nil {
		t.Logf("kubeadm init phase upload-config kubelet: %v (expected without a Node object): %s", err, testkit.LastLines(out, 2))
	}
	cancel()
	first.exec(ctx, ka, "init", "phase", "kubeconfig", "controller-manager", "--config", first.kubeadm)
	first.exec(ctx, ka, "init", "phase", "control-plane", "controller-manager", "--config", first.kubeadm)
	kcm, err := manifest(first.root, "kube-controller-manager.yaml")
	testkit.Must(t, err)
	kcm[0] = testkit.Tool(t, "kube-controller-manager")
	kcm = SetFlag(kcm, "controllers", "bootstrapsigner")
	p := first.start("kube-controller-manager", kcm...)
	defer func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	}()

	// The signer adds jws-kubeconfig-ID to cluster-info for every valid signing token.
	id, oldID := secrets.TokenID(fresh), secrets.TokenID(expired)
	hc := c.caClient(kc.CA)
	var data map[string]string
	t0 := time.Now()
	if err := waitFor(ctx, 90*time.Second, "cluster-info signed for "+id, func() error {
		resp, err := hc.Get(kc.Server + "/api/v1/namespaces/kube-public/configmaps/cluster-info")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var cm struct {
			Data map[string]string `json:"data"`
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("anonymous GET cluster-info: HTTP %d", resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(&cm); err != nil {
			return err
		}
		data = cm.Data
		if _, ok := cm.Data["jws-kubeconfig-"+id]; !ok {
			return fmt.Errorf("keys %v", keys(cm.Data))
		}
		return nil
	}); err != nil {
		c.dumpLogs()
		t.Fatal(err)
	}
	_, signedExpired := data["jws-kubeconfig-"+oldID]
	t.Logf("TOKEN-RESULT cluster-info-signed-after=%s keys=%v expired-token-signed=%v", time.Since(t0).Round(time.Millisecond), keys(data), signedExpired)

	// The rebuild puts the new token into the worker's join configuration.
	var stdout, stderr bytes.Buffer
	if code := cli.Run([]string{"build", c.topo, "-o", c.out}, &cli.Env{Stdout: &stdout, Stderr: &stderr}); code != 0 {
		t.Fatalf("ignigen build after token create: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	join := c.workerJoin(t)
	if !strings.Contains(join, "token: "+fresh+"\n") {
		t.Fatalf("the rebuilt worker join configuration does not carry the new token")
	}
	// A discovery that fails must fail within the test, not after kubeadm's default 5 minutes.
	join += "timeouts:\n  discovery: 20s\n"
	for _, tc := range []struct {
		what, token string
		ok          bool
	}{{"new token", fresh, true}, {"expired token", expired, false}} {
		cfg := filepath.Join(c.dir, "late-join-"+secrets.TokenID(tc.token)+".yaml")
		testkit.Must(t, os.WriteFile(cfg, []byte(strings.ReplaceAll(join, fresh, tc.token)), 0o600))
		t0 := time.Now()
		out, err := runErr(ctx, "ip", "netns", "exec", c.client, ka, "join", "phase", "preflight", "--config", cfg, "--ignore-preflight-errors=all", "-v=5")
		took := time.Since(t0).Round(time.Millisecond)
		var lines []string
		for _, l := range strings.Split(redact(out, fresh, expired), "\n") {
			if strings.Contains(l, "discovery") || strings.Contains(l, "error") || strings.Contains(l, "kubeadm-config") {
				lines = append(lines, l)
			}
		}
		shown := testkit.LastLines(strings.Join(lines, "\n"), 12)
		switch {
		case tc.ok && err != nil:
			t.Errorf("kubeadm join phase preflight with the %s failed after %s: %v\n%s", tc.what, took, err, shown)
		case !tc.ok && err == nil:
			t.Errorf("kubeadm join phase preflight with the %s succeeded; it must be refused\n%s", tc.what, shown)
		default:
			t.Logf("TOKEN-RESULT kubeadm-discovery token=%s ok=%v after=%s\n%s", tc.what, err == nil, took, shown)
		}
	}
}

// workerJoin is the JoinConfiguration of the first worker in the (rebuilt) output.
func (c *cluster) workerJoin(t *testing.T) string {
	igns, err := filepath.Glob(filepath.Join(c.out, "*.ign"))
	testkit.Must(t, err)
	sort.Strings(igns)
	for _, p := range igns {
		data, err := os.ReadFile(p)
		testkit.Must(t, err)
		_, files, err := ignfiles.Parse(data)
		testkit.Must(t, err)
		if f := ignfiles.Find(files, "/etc/kubernetes/kubeadm/join.yaml"); f != nil && !strings.Contains(string(f.Data), "controlPlane:") {
			return string(f.Data)
		}
	}
	t.Fatal("no worker join configuration in the build output")
	return ""
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
