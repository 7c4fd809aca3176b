package testkit

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestWithSysextBaseURL(t *testing.T) {
	for name, src := range map[string]string{
		"replaced": "cluster:\n  name: a # kept\nsysext:\n  baseURL: https://example.invalid/ext\n",
		"added":    "cluster:\n  name: a # kept\n",
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "topology.yaml")
			if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := os.ReadFile(WithSysextBaseURL(t, p, "http://127.0.0.1:1"))
			if err != nil {
				t.Fatal(err)
			}
			var v struct {
				Cluster struct{ Name string }
				Sysext  struct {
					BaseURL string `yaml:"baseURL"`
				}
			}
			if err := yaml.Unmarshal(out, &v); err != nil {
				t.Fatal(err)
			}
			if v.Sysext.BaseURL != "http://127.0.0.1:1" || v.Cluster.Name != "a" || !strings.Contains(string(out), "# kept") {
				t.Fatalf("got:\n%s", out)
			}
		})
	}
}

func TestServeSysext(t *testing.T) {
	s := ServeSysext(t)
	get := func(path string) (int, string) {
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("/kubernetes-v1.35.4-x86-64.raw"); code != 200 || body != string(StandIn("kubernetes-v1.35.4-x86-64.raw")) {
		t.Fatalf("image: %d %q", code, body)
	}
	if code, body := get("/crio-v1.35.0-x86-64.raw"); code != 200 || body != string(StandIn("crio-v1.35.0-x86-64.raw")) {
		t.Fatalf("runtime image: %d %q", code, body)
	}
	if code, _ := get("/other.raw"); code != 404 {
		t.Fatalf("other: %d", code)
	}
	if n := len(s.Requests()); n != 3 {
		t.Fatalf("%d requests recorded", n)
	}
}

func TestLast(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{LastLines("a\nb\nc\n", 2), "b\nc"},
		{LastLines("a", 2), "a"},
		{LastBytes("abcdef", 3), "…def"},
		{LastBytes("ab", 3), "ab"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
