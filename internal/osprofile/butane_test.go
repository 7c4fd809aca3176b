package osprofile

import (
	"encoding/json"
	"testing"

	"github.com/coreos/ignition/v2/butane/config/common"
)

// Every translator in the table gives Ignition 3.4.0, and a document names its own translator.
func TestTranslatorsGive34(t *testing.T) {
	for b := range translators {
		out, rep, err := Translate([]byte("variant: "+b.Variant+"\nversion: "+b.Version+"\n"), common.TranslateBytesOptions{Raw: true})
		if err != nil || len(rep.Entries) > 0 {
			t.Fatalf("%s: %v %s", b, err, rep)
		}
		var cfg struct{ Ignition struct{ Version string } }
		if err := json.Unmarshal(out, &cfg); err != nil || cfg.Ignition.Version != "3.4.0" {
			t.Errorf("%s translates to Ignition %q (%v), want 3.4.0", b, cfg.Ignition.Version, err)
		}
	}
	for _, doc := range []string{"variant: fcos\nversion: 1.6.0\n", "variant: flatcar\nversion: 1.1\n", "version: 1.1.0\n", "variant: [\n"} {
		if _, _, err := Translate([]byte(doc), common.TranslateBytesOptions{Raw: true}); err == nil {
			t.Errorf("%q translated", doc)
		}
	}
}
