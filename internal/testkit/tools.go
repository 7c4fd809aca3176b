package testkit

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// RepoRoot returns the directory holding ignigen's go.mod, found upwards from the working
// directory (go test runs in the package directory).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(data, []byte("module github.com/ignigen/ignigen\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testkit: no ignigen go.mod above the working directory")
		}
		dir = parent
	}
}

var (
	toolMu    sync.Mutex
	toolPaths = map[string]string{}
)

// Tool returns the absolute path of a cached tool built by `scripts/tools.sh path NAME`
// (ignition, ignition-validate, quadlet, kubeadm, kube-apiserver, kubectl, etcd, etcdctl,
// matchbox), building it first if it is missing. Kubernetes tools are the default version of
// tools.sh; use ToolVersion for another one.
func Tool(t testing.TB, name string) string {
	t.Helper()
	return ToolVersion(t, name, "")
}

// ToolVersion is Tool for a given Kubernetes version (K8S_VERSION of tools.sh, e.g. "v1.35.4");
// "" means the default. It only matters for kubeadm, kube-apiserver, kubectl, etcd and etcdctl.
func ToolVersion(t testing.TB, name, k8sVersion string) string {
	t.Helper()
	key := name + "@" + k8sVersion
	toolMu.Lock()
	defer toolMu.Unlock() // serialised: two concurrent callers must not start two builds
	if p, ok := toolPaths[key]; ok {
		return p
	}
	script := filepath.Join(RepoRoot(t), "scripts", "tools.sh")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script, "path", name)
	cmd.Env = os.Environ()
	if k8sVersion != "" {
		cmd.Env = append(cmd.Env, "K8S_VERSION="+k8sVersion)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("testkit: scripts/tools.sh path %s (K8S_VERSION=%q): %v\n%s", name, k8sVersion, err, stderr.String())
	}
	p := strings.TrimSpace(stdout.String())
	if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 || !filepath.IsAbs(p) {
		t.Fatalf("testkit: scripts/tools.sh path %s printed %q, not an executable", name, p)
	}
	toolPaths[key] = p
	return p
}

var aptOnce sync.Once

// HostTool returns the path of a program that comes from a Debian package (haproxy, keepalived,
// openssl, systemd-analyze, systemctl, ip, unshare), running `scripts/tools.sh apt` once when
// one is missing.
func HostTool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} { // not always on a non-login PATH
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	aptOnce.Do(func() {
		out, err := exec.Command("bash", filepath.Join(RepoRoot(t), "scripts", "tools.sh"), "apt").CombinedOutput()
		if err != nil {
			t.Logf("testkit: scripts/tools.sh apt: %v\n%s", err, out)
		}
	})
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	t.Fatalf("testkit: %s not found, even after scripts/tools.sh apt", name)
	return ""
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// Result is the outcome of one command.
type Result struct {
	Cmd    string
	Stdout string
	Stderr string
	Err    error // nil when the command exited 0
}

// Output is stdout and stderr together, for messages.
func (r Result) Output() string { return strings.TrimSpace(r.Stdout + r.Stderr) }

// Run runs a command with an optional environment addition and a timeout, never failing the test.
func Run(timeout time.Duration, env []string, name string, args ...string) Result {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", timeout, err)
	}
	return Result{Cmd: name + " " + strings.Join(args, " "), Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
}

// MustRun runs a command (two minutes at most) and fails the test with its output when it fails.
func MustRun(t testing.TB, name string, args ...string) string {
	t.Helper()
	r := Run(2*time.Minute, nil, name, args...)
	if r.Err != nil {
		t.Fatalf("%s: %v\n%s", r.Cmd, r.Err, r.Output())
	}
	return r.Stdout
}
