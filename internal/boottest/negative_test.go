//go:build boottest

package boottest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/ignition/v2/config/v3_4"
	"github.com/vincent-petithory/dataurl"
)

// Negative controls: each breaks one thing the boot depends on and runs the same boot and
// checks, which must fail. A control that passes means the boot test would not notice.

const negativeTimeout = 150 * time.Second

// recorder stands in for testing.T during a control's boot: it records failures instead of
// failing the test (Fatal ends the goroutine, as testing.T's does).
type recorder struct {
	testing.TB
	mu       sync.Mutex
	failures []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}
func (r *recorder) Error(args ...any)                 { r.Errorf("%s", fmt.Sprint(args...)) }
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...); runtime.Goexit() }
func (r *recorder) Fatal(args ...any)                 { r.Error(args...); runtime.Goexit() }

func runNegative(t *testing.T, nodes string, brk breakFunc) {
	t.Setenv("BOOTTEST_NODES", nodes)
	c := newCluster(t, brk)
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		powerOnAll(rec, c, c.nodes, 0, negativeTimeout)
		c.checkAssembled(rec)
	}()
	<-done
	if len(rec.failures) == 0 {
		t.Fatal("boottest: negative control passed: the boot test does not catch this breakage")
	}
	first := rec.failures[0]
	if len(first) > 400 {
		first = first[:400] + "..."
	}
	logf("negative control failed as it must (%d failures); first: %s", len(rec.failures), first)
}

// editConfig applies edit to the contents of a unit (name ends in .service) or a file.
func editConfig(t testing.TB, raw []byte, name string, edit func(string) string) []byte {
	cfg, rep, err := v3_4.Parse(raw)
	if err != nil {
		t.Fatalf("%v: %s", err, rep.String())
	}
	found := false
	for i := range cfg.Systemd.Units {
		u := &cfg.Systemd.Units[i]
		if u.Name == name && u.Contents != nil {
			s := edit(*u.Contents)
			u.Contents, found = &s, true
		}
	}
	for i := range cfg.Storage.Files {
		f := &cfg.Storage.Files[i]
		if f.Path == name && f.Contents.Source != nil {
			d, err := dataurl.DecodeString(*f.Contents.Source)
			if err != nil {
				t.Fatal(err)
			}
			s := dataurl.EncodeBytes([]byte(edit(string(d.Data))))
			f.Contents.Source, found = &s, true
		}
	}
	if !found {
		t.Fatalf("boottest: %s not in the config", name)
	}
	out, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNegativeOrdering: kubeadm-init no longer waits for keepalived and HAProxy.
func TestNegativeOrdering(t *testing.T) {
	runNegative(t, "node1-cp", func(t testing.TB, n *node, cfg []byte) []byte {
		if n.name != "node1-cp" {
			return cfg
		}
		return editConfig(t, cfg, "kubeadm-init.service", func(s string) string {
			out := strings.Replace(s, " keepalived.service haproxy.service\nRequires=", "\nRequires=", 1)
			if out == s {
				t.Fatal("boottest: kubeadm-init.service has no After= on keepalived and HAProxy")
			}
			return out
		})
	})
}

// TestNegativeCAHash: the joining worker pins a CA hash that is not the cluster's.
func TestNegativeCAHash(t *testing.T) {
	hash := regexp.MustCompile(`sha256:[0-9a-f]{64}`)
	runNegative(t, "node1-cp,node4-worker", func(t testing.TB, n *node, cfg []byte) []byte {
		if n.name != "node4-worker" {
			return cfg
		}
		return editConfig(t, cfg, JoinConfigPath, func(s string) string {
			return hash.ReplaceAllString(s, "sha256:"+strings.Repeat("0", 64))
		})
	})
}

// TestNegativeMissingImage: kube-scheduler's image is not on the init node's disk (and no
// registry answers).
func TestNegativeMissingImage(t *testing.T) {
	dropImage = "kube-scheduler"
	defer func() { dropImage = "" }()
	runNegative(t, "node1-cp", nil)
}
