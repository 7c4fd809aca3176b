package serve

import (
	"bytes"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// maxFuzzQuery bounds each input: net/http refuses headers over MaxHeaderBytes (16 KiB) anyway.
const maxFuzzQuery = 4 << 10

var logLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ client=\S+ method=GET path="[^"]*" mac=(-|[\w.:-]+|"(\\.|[^"\\])*") node=(-|[\w.:-]+|"(\\.|[^"\\])*") status=\d+ bytes=\d+ duration=\S+$`)

// FuzzRequest sends arbitrary queries to /ignition and /ipxe of a one-time server. Whatever the
// query: no panic, a known status, a 200 carries exactly the named node's config, a refusal
// carries none, nothing is written unless a control-plane config is handed out, and each request
// logs exactly one well-formed line.
func FuzzRequest(f *testing.F) {
	for _, seed := range []string{
		"mac=52-54-00-00-00-11", "mac=52:54:00:00:00:21", "name=w2", "name=cp1", "mac=52-54-00-00-00-21&name=w1",
		"mac=52-54-00-00-00-21&name=cp1", "mac=bogus", "mac=%0a", "name=%00", "mac=52-54-00-00-00-11&mac=x",
		"mac=0102.0304.0506", "mac=01:02:03:04:05:06:07:08", "", "name=", "mac=", "%zz", "name=w1%0Astatus=200",
	} {
		f.Add(true, seed)
		f.Add(false, seed)
	}
	dir := filepath.Join(f.TempDir(), "out")
	if err := os.Mkdir(dir, 0o700); err != nil {
		f.Fatal(err)
	}
	writeOutput(f, dir, 1)
	var log syncBuffer
	s, err := New(Options{Dir: dir, Log: &log, OneTime: true})
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	f.Fuzz(func(t *testing.T, ignition bool, query string) {
		if len(query) > maxFuzzQuery {
			t.Skip()
		}
		path := "/ipxe"
		if ignition {
			path = "/ignition"
		}
		before := tree(t, filepath.Dir(dir))
		logBefore := len(log.String())
		r := httptest.NewRequest("GET", "/", nil)
		r.URL = &url.URL{Path: path, RawQuery: query}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		body := w.Body.String()

		if !slices.Contains([]int{200, 400, 403, 404, 410, 503}, w.Code) {
			t.Fatalf("%s?%s: status %d", path, query, w.Code)
		}
		handedOut := ""
		if w.Code == 200 && ignition {
			handedOut = named(t, s, query, body)
		}
		if w.Code != 200 && strings.Contains(body, `"ignition"`) {
			t.Fatalf("%s?%s: a %d carries a config: %q", path, query, w.Code, body)
		}
		if after := tree(t, filepath.Dir(dir)); handedOut == "" || handedOut == "worker" {
			if !bytes.Equal(before, after) {
				t.Fatalf("%s?%s (%d): files changed:\n%s\n---\n%s", path, query, w.Code, before, after)
			}
		}
		lines := strings.Split(strings.TrimSuffix(log.String()[logBefore:], "\n"), "\n")
		access := 0
		for _, l := range lines {
			if strings.Contains(l, " client=") && !strings.Contains(l, "one-time delivery") && !strings.Contains(l, "WARNING") {
				access++
				if !logLine.MatchString(l) {
					t.Fatalf("%s?%s: malformed access-log line %q", path, query, l)
				}
			}
		}
		if access != 1 {
			t.Fatalf("%s?%s: %d access-log lines: %q", path, query, access, lines)
		}
	})
}

// named checks that a 200 body is exactly the config of the node the query names, and returns
// that node's role.
func named(t *testing.T, s *Server, query, body string) string {
	q, _ := url.ParseQuery(query) // keeps the pairs it could parse, as the server's r.URL.Query() does
	sn := s.snap.Load()
	var n *node
	if q.Has("mac") {
		mac, err := ParseMAC(q.Get("mac"))
		if err != nil {
			t.Fatalf("?%s: a bad MAC got a config", query)
		}
		n = sn.byMAC[mac]
	} else {
		n = sn.byName[q.Get("name")]
	}
	if n == nil || body != string(n.config) {
		t.Fatalf("?%s: got %q, not the named node's config", query, body)
	}
	return n.Role
}

// tree is every file under dir with its content, to see that nothing was written.
func tree(t *testing.T, dir string) []byte {
	var b bytes.Buffer
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		b.WriteString(p + "\n")
		if !d.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b.Write(data)
			b.WriteString("\n")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// FuzzParseMAC: any string either fails or gives a canonical MAC that parses to itself.
func FuzzParseMAC(f *testing.F) {
	for _, seed := range []string{"52-54-00-AB-cd-01", "52:54:00:ab:cd:01", "5254.00ab.cd01", "x", "01:02:03:04:05:06:07:08", ""} {
		f.Add(seed)
	}
	canonical := regexp.MustCompile(`^[0-9a-f]{2}(:[0-9a-f]{2}){5}$`)
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > maxFuzzQuery {
			t.Skip()
		}
		out, err := ParseMAC(in)
		if err != nil {
			if out != "" {
				t.Fatalf("%q: error %v with output %q", in, err, out)
			}
			return
		}
		if !canonical.MatchString(out) {
			t.Fatalf("%q -> %q: not canonical", in, out)
		}
		if again, err := ParseMAC(out); err != nil || again != out {
			t.Fatalf("%q -> %q -> %q, %v", in, out, again, err)
		}
	})
}
