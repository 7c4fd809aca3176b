//go:build integration

package delivery

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	ign "github.com/coreos/ignition/v2/config/v3_4"

	"github.com/ignigen/ignigen/internal/cli"
	"github.com/ignigen/ignigen/internal/testkit"
	"github.com/ignigen/ignigen/internal/topology"
)

// TestMatchbox exports the example build for matchbox, runs a matchbox built by
// scripts/tools.sh, and fetches every node's config from it by MAC. matchbox parses .ign files
// and re-encodes them, so the check is that it serves the same Ignition config, not the same bytes.
func TestMatchbox(t *testing.T) {
	tools, err := filepath.Abs("../../scripts/tools.sh")
	testkit.Must(t, err)
	pathOut, err := exec.Command(tools, "path", "matchbox").Output()
	if err != nil {
		t.Skipf("no matchbox (scripts/tools.sh path matchbox): %v", err)
	}
	bin := strings.TrimSpace(string(pathOut))
	out, m := testkit.BuildSource(t, topology.Example)
	data := t.TempDir()
	port := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	var stdout, stderr bytes.Buffer
	if code := cli.Run([]string{"export", "matchbox", data, "--from", out, "--url", url}, &cli.Env{Stdout: &stdout, Stderr: &stderr}); code != 0 {
		t.Fatalf("export: %s", stderr.String())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var mlog bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "-address", fmt.Sprintf("127.0.0.1:%d", port), "-data-path", data, "-assets-path", data)
	cmd.Stdout, cmd.Stderr = &mlog, &mlog
	testkit.Must(t, cmd.Start())
	defer func() { cancel(); cmd.Wait() }()

	fetch := func(path string) (int, []byte) {
		var resp *http.Response
		var err error
		for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(100 * time.Millisecond) {
			if resp, err = http.Get(url + path); err == nil {
				break
			}
		}
		testkit.Must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	for _, n := range m.Nodes {
		t.Run(n.Name, func(t *testing.T) {
			file, err := os.ReadFile(filepath.Join(out, n.File))
			testkit.Must(t, err)
			code, body := fetch("/ignition?mac=" + strings.ReplaceAll(n.MAC, ":", "-"))
			if code != 200 {
				t.Fatalf("status %d: %s\nmatchbox log:\n%s", code, body, mlog.String())
			}
			want, _, err := ign.Parse(file)
			testkit.Must(t, err)
			got, r, err := ign.Parse(body)
			if err != nil {
				t.Fatalf("matchbox served an invalid config: %v %s", err, r)
			}
			if !reflect.DeepEqual(want, got) {
				t.Errorf("matchbox serves a different config for %s", n.Name)
			}
			code, body = fetch("/ipxe?mac=" + strings.ReplaceAll(n.MAC, ":", "-"))
			if code != 200 || !strings.Contains(string(body), "ignition.config.url="+url+"/ignition?mac=") {
				t.Errorf("ipxe script: %d %s", code, body)
			}
		})
	}
	if code, _ := fetch("/ignition?mac=52-54-00-de-ad-01"); code != 404 {
		t.Errorf("unknown MAC: status %d, want 404", code)
	}
}
