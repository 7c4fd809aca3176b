package secrets

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// maxFuzzInput bounds a fuzzed bundle: a real one is about 6 KiB (RSA-2048: 12 KiB).
const maxFuzzInput = 32 << 10

// FuzzDecode feeds arbitrary bytes to the bundle decoder and checker (`build` reads any
// secrets.yaml it is pointed at): no panic, and a bundle that passes Check survives a
// Marshal/Decode round trip unchanged.
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("../../testdata/*/secrets.yaml")
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("apiVersion: ignigen.io/v1alpha1\nkind: Secrets\ncas: {ca: {cert: x, key: y}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			t.Skip()
		}
		b, err := Unmarshal(data, now)
		if err != nil {
			if b != nil {
				t.Fatalf("error %v with a bundle", err)
			}
			return
		}
		_ = b.DiscoveryHash() // panics on an unchecked bundle
		out, err := b.Marshal()
		if err != nil {
			t.Fatalf("a checked bundle does not marshal: %v", err)
		}
		again, err := Unmarshal(out, now)
		if err != nil {
			t.Fatalf("a checked bundle does not read back: %v", err)
		}
		if !reflect.DeepEqual(b, again) {
			t.Fatalf("round trip changed the bundle:\n%+v\n%+v", b, again)
		}
	})
}
