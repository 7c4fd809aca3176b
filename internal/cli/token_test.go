package cli

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/ignfiles"
	"github.com/ignigen/ignigen/internal/kubeapi/fakeapi"
	"github.com/ignigen/ignigen/internal/kubeconfig"
	"github.com/ignigen/ignigen/internal/output"
	"github.com/ignigen/ignigen/internal/secrets"
)

// tokenFixture is a built cluster directory and a fake API server that trusts its admin
// certificate, with a kubeconfig for it beside DIR (DIR's own points at the VIP).
type tokenFixture struct {
	work, topo, out, bundle, kc string
	api                         *fakeapi.Server
}

func newTokenFixture(t *testing.T, r *recorder) *tokenFixture {
	t.Helper()
	f := &tokenFixture{work: t.TempDir()}
	f.topo = writeTopology(t, f.work, "topology.yaml")
	f.out = filepath.Join(f.work, "out")
	f.bundle = filepath.Join(f.out, SecretsFile)
	res := r.run("build", f.topo, "-o", f.out)
	require.Equal(t, ExitOK, res.code, res.stderr)
	b, _, err := secrets.Load(f.bundle, testNow)
	require.NoError(t, err)
	f.api = fakeapi.New(t, []byte(b.CAs["ca"].Cert))
	kc, err := kubeconfig.Marshal("example", "admin", kubeconfig.Credentials{Server: f.api.URL, CA: f.api.CAPEM, Cert: []byte(b.Admin.Cert), Key: []byte(b.Admin.Key)})
	require.NoError(t, err)
	f.kc = filepath.Join(f.work, "fake.kubeconfig")
	require.NoError(t, os.WriteFile(f.kc, kc, 0o600))
	return f
}

// kubeadmFiles returns the kubeadm configuration of every node that has one, by node.
func kubeadmFiles(t *testing.T, out string) map[string]string {
	t.Helper()
	igns, err := filepath.Glob(filepath.Join(out, "*.ign"))
	require.NoError(t, err)
	got := map[string]string{}
	for _, p := range igns {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		_, files, err := ignfiles.Parse(data)
		require.NoError(t, err)
		for _, path := range []string{"/etc/kubernetes/kubeadm/init.yaml", "/etc/kubernetes/kubeadm/join.yaml"} {
			if f := ignfiles.Find(files, path); f != nil {
				got[strings.TrimSuffix(filepath.Base(p), ".ign")+":"+filepath.Base(path)] = string(f.Data)
			}
		}
	}
	return got
}

func TestTokenCreate(t *testing.T) {
	r := &recorder{t: t}
	f := newTokenFixture(t, r)
	old, err := os.ReadFile(f.bundle)
	require.NoError(t, err)
	oldB, err := secrets.Decode(old)
	require.NoError(t, err)
	before := kubeadmFiles(t, f.out)

	// Ten days after the first boot the first token (168h) is gone; a new one for 48 hours.
	later := testNow.Add(10*24*time.Hour + 300*time.Millisecond)
	res := r.runAt(later, "token", "create", "--ttl", "48h", "-o", f.out, "--kubeconfig", f.kc)
	require.Equal(t, ExitOK, res.code, res.stderr)
	newB, _, err := secrets.Load(f.bundle, later)
	require.NoError(t, err)
	id := secrets.TokenID(newB.BootstrapToken)
	expires := "2026-12-06T00:25:32Z"
	assert.Equal(t, "registered bootstrap token "+id+" (Secret kube-system/bootstrap-token-"+id+"), valid until "+expires+"\n"+
		"stored in "+f.bundle+" (mode 0600); build again with this bundle so that nodes booting from now on join with it (running nodes need nothing)\n", res.stdout)
	assert.Empty(t, res.stderr)
	assert.Equal(t, fs.FileMode(0o600), mode(t, f.bundle))

	// Registered first, exactly as kubeadm token create writes it.
	reqs := f.api.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/api/v1/namespaces/kube-system/secrets", reqs[0].Path)
	assert.Equal(t, secrets.AdminUser, reqs[0].ClientCN)
	var s struct {
		Metadata struct{ Name, Namespace string }
		Type     string
		Data     map[string][]byte
	}
	require.NoError(t, json.Unmarshal(reqs[0].Body, &s))
	assert.Equal(t, "bootstrap-token-"+id, s.Metadata.Name)
	assert.Equal(t, "kube-system", s.Metadata.Namespace)
	assert.Equal(t, "bootstrap.kubernetes.io/token", s.Type)
	tokID, tokSecret, _ := strings.Cut(newB.BootstrapToken, ".")
	assert.Equal(t, map[string][]byte{
		"token-id": []byte(tokID), "token-secret": []byte(tokSecret), "expiration": []byte(expires),
		"usage-bootstrap-authentication": []byte("true"), "usage-bootstrap-signing": []byte("true"),
		"auth-extra-groups": []byte("system:bootstrappers:kubeadm:default-node-token"),
		"description":       []byte(tokenDescription),
	}, s.Data)

	// The bundle changed in the token and its expiry only.
	assert.NotEqual(t, oldB.BootstrapToken, newB.BootstrapToken)
	require.NotNil(t, newB.BootstrapTokenExpires)
	assert.Equal(t, expires, newB.BootstrapTokenExpires.Format(time.RFC3339))
	newB.BootstrapToken, newB.BootstrapTokenExpires = oldB.BootstrapToken, nil
	assert.Equal(t, oldB, newB)

	// The next build puts the new token into every join config and the init config alike; the
	// init config still gives it the topology's TTL, for a fresh cluster.
	res = r.runAt(later, "build", f.topo, "-o", f.out)
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.NotContains(t, res.stderr, "bootstrap token", "the new token is valid: no warning")
	after := kubeadmFiles(t, f.out)
	require.Len(t, after, 6, "the init node (init.yaml, and join.yaml for a re-provisioned init node) and four joining nodes")
	for name, cfg := range after {
		assert.Contains(t, cfg, "token: "+tokID+"."+tokSecret+"\n", name)
		assert.NotContains(t, cfg, oldB.BootstrapToken, name)
		assert.Equal(t, strings.ReplaceAll(before[name], oldB.BootstrapToken, tokID+"."+tokSecret), cfg, "%s: only the token changed", name)
		if strings.HasSuffix(name, "init.yaml") {
			assert.Contains(t, cfg, "ttl: 168h0m0s\n")
		}
	}
	r.noSecretsPrinted(f.bundle)
}

// Every failure leaves the bundle, and everything else in the work directory, byte for byte.
func TestTokenCreateFailureLeavesBundle(t *testing.T) {
	cases := []struct {
		name   string
		status int // the fake API's answer; 0: not asked
		args   func(f *tokenFixture) []string
		code   int
		want   string
	}{
		{"id taken", http.StatusConflict, nil, ExitFailed, "409 AlreadyExists"},
		{"forbidden", http.StatusForbidden, nil, ExitFailed, "403 Forbidden"},
		{"API down", -1, nil, ExitFailed, "connection refused (the bundle %BUNDLE% is unchanged)"},
		{"eternal token", 0, func(f *tokenFixture) []string { return []string{"--ttl", "0"} }, ExitUsage, "ignigen makes no token that never expires"},
		{"negative ttl", 0, func(f *tokenFixture) []string { return []string{"--ttl", "-1h"} }, ExitUsage, "give a positive duration"},
		{"no kubeconfig", 0, func(f *tokenFixture) []string { return []string{"--kubeconfig", filepath.Join(f.work, "none")} }, ExitFailed, "no such file"},
		{"server not signed by the kubeconfig's CA", 0, func(f *tokenFixture) []string {
			b, _, err := secrets.Load(f.bundle, testNow)
			require.NoError(t, err)
			kc, err := kubeconfig.Marshal("example", "admin", kubeconfig.Credentials{Server: f.api.URL, CA: []byte(b.CAs["ca"].Cert), Cert: []byte(b.Admin.Cert), Key: []byte(b.Admin.Key)})
			require.NoError(t, err)
			p := filepath.Join(f.work, "other-ca.kubeconfig")
			require.NoError(t, os.WriteFile(p, kc, 0o600))
			return []string{"--kubeconfig", p}
		}, ExitFailed, "certificate signed by unknown authority (the bundle %BUNDLE% is unchanged)"},
		{"no bundle", 0, func(f *tokenFixture) []string { return []string{"--secrets", filepath.Join(f.work, "none.yaml")} }, ExitFailed, "does not exist"},
		{"unknown action", 0, func(f *tokenFixture) []string { return []string{"list"} }, ExitUsage, "unknown action"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{t: t}
			f := newTokenFixture(t, r)
			args := []string{"token", "create", "-o", f.out, "--kubeconfig", f.kc}
			switch {
			case tc.status > 0:
				f.api.Answer(tc.status, `{"kind":"Status","reason":"`+strings.ReplaceAll(http.StatusText(tc.status), " ", "")+`","message":"refused"}`)
				if tc.status == http.StatusConflict {
					f.api.Answer(tc.status, `{"kind":"Status","reason":"AlreadyExists","message":"exists"}`)
				}
			case tc.status < 0:
				f.api.Close()
			}
			if tc.args != nil {
				extra := tc.args(f)
				if extra[0] == "list" {
					args = append([]string{"token", "list"}, args[2:]...)
				} else {
					args = append(args, extra...)
				}
			}
			before := tree(t, f.work)
			res := r.runAt(testNow.Add(time.Hour), args...)
			assert.Equal(t, tc.code, res.code, res.stderr)
			assert.Contains(t, res.stderr, strings.ReplaceAll(tc.want, "%BUNDLE%", f.bundle))
			assert.Empty(t, res.stdout)
			assert.Equal(t, before, tree(t, f.work), "the bundle and everything beside it are untouched")
			r.noSecretsPrinted(f.bundle)
		})
	}
}

// A build warns, without failing, when the bundle's token can no longer let nodes join, and
// names the command that issues a new one.
func TestBuildWarnsExpiredToken(t *testing.T) {
	day := 24 * time.Hour
	cases := []struct {
		name     string
		ttl      string        // topology kubernetes.tokenTTL ("" keeps 168h)
		expires  time.Duration // recorded expiry, from testNow; 0: none (a bundle's first token)
		at       time.Duration // build time, from testNow
		explicit bool          // build with --secrets
		want     string        // "" : no token warning
	}{
		{"first token, within its TTL", "", 0, 6 * day, false, ""},
		{"first token, TTL over", "", 0, 8 * day, false, "the bootstrap token has probably expired: kubeadm init gave it kubernetes.tokenTTL 168h0m0s, and the bundle dates from 2026-11-24T00:25:32Z, so it lapsed on 2026-12-01T00:25:32Z or later; if the cluster is running, nodes that boot now cannot join: run `ignigen token create -o %OUT%`, then build again"},
		{"first token, TTL 0s never expires", "0s", 0, 300 * day, false, ""},
		{"first token, short TTL over", "2h", 0, 3 * time.Hour, false, "kubernetes.tokenTTL 2h0m0s"},
		{"recorded, still valid", "", 20 * day, 19 * day, false, ""},
		{"recorded, expired", "", 20 * day, 21 * day, false, "the bootstrap token expired on 2026-12-14T00:25:32Z; nodes that boot now cannot join: run `ignigen token create -o %OUT%`, then build again"},
		{"recorded wins over TTL 0s", "0s", 20 * day, 21 * day, false, "expired on 2026-12-14T00:25:32Z"},
		{"with --secrets", "", 0, 8 * day, true, "run `ignigen token create -o %OUT% --secrets %BUNDLE%`"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			var edits []string
			if tc.ttl != "" {
				edits = []string{"tokenTTL: 168h", "tokenTTL: " + tc.ttl}
			}
			topo := writeTopology(t, work, "topology.yaml", edits...)
			out := filepath.Join(work, "out")
			// The bundle lives in DIR after a first build without --secrets, or beside it.
			bundle, args := filepath.Join(out, SecretsFile), []string{"build", topo, "-o", out}
			res := run(args...)
			if tc.explicit {
				bundle = filepath.Join(work, "secrets.yaml")
				args = append(args, "--secrets", bundle)
				require.NoError(t, os.RemoveAll(out))
				res = run("secrets", "create", bundle)
			}
			require.Equal(t, ExitOK, res.code, res.stderr)
			if tc.expires != 0 {
				data, err := os.ReadFile(bundle)
				require.NoError(t, err)
				b, err := secrets.Decode(data)
				require.NoError(t, err)
				tok, err := secrets.NewToken(strings.NewReader(strings.Repeat("k", 22)))
				require.NoError(t, err)
				require.NoError(t, b.SetToken(tok, testNow.Add(tc.expires)))
				data, err = b.Marshal()
				require.NoError(t, err)
				require.NoError(t, output.Replace(filepath.Dir(bundle), []output.File{{Name: filepath.Base(bundle), Data: data, Mode: 0o600}}))
			}
			res = runAt(testNow.Add(tc.at), args...)
			require.Equal(t, ExitOK, res.code, "a warning, never an error: %s", res.stderr)
			if tc.want == "" {
				assert.NotContains(t, res.stderr, "token create")
				return
			}
			want := strings.NewReplacer("%OUT%", out, "%BUNDLE%", bundle).Replace(tc.want)
			assert.Contains(t, res.stderr, "warning: secrets bundle "+bundle+": ")
			assert.Contains(t, res.stderr, want)
			assert.Contains(t, res.stderr, "ignigen token create")
		})
	}
}
