package osprofile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/coreos/ignition/v2/butane/config/common"
	fcos1_5 "github.com/coreos/ignition/v2/butane/config/fcos/v1_5"
	fiot1_0 "github.com/coreos/ignition/v2/butane/config/fiot/v1_0"
	flatcar1_1 "github.com/coreos/ignition/v2/butane/config/flatcar/v1_1"
	r4e1_1 "github.com/coreos/ignition/v2/butane/config/r4e/v1_1"
	"github.com/coreos/vcontext/report"
	"gopkg.in/yaml.v3"
)

// translators are the Butane specifications whose translation is Ignition 3.4.0, the version
// layers are merged and validated in: the only ones a profile or snippet can use. Importing
// Butane's own registry instead would link (and initialise at every start) its thirty-odd other
// translators, about 2 ms of each ignigen run.
var translators = map[Butane]func([]byte, common.TranslateBytesOptions) ([]byte, report.Report, error){
	{Variant: "flatcar", Version: "1.1.0"}: flatcar1_1.ToIgn3_4Bytes,
	{Variant: "fcos", Version: "1.5.0"}:    fcos1_5.ToIgn3_4Bytes,
	{Variant: "r4e", Version: "1.1.0"}:     r4e1_1.ToIgn3_4Bytes,
	{Variant: "fiot", Version: "1.0.0"}:    fiot1_0.ToIgn3_4Bytes,
}

// Translatable lists the specifications ignigen translates, for messages.
func Translatable() string {
	var names []string
	for b := range translators {
		names = append(names, b.String())
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// Translate is Butane's TranslateBytes for the specifications in the table: the document's own
// variant and version pick the translator.
func Translate(src []byte, opts common.TranslateBytesOptions) ([]byte, report.Report, error) {
	var b Butane
	if err := yaml.Unmarshal(src, &b); err != nil {
		return nil, report.Report{}, common.ErrUnmarshal{Detail: err.Error()}
	}
	if b.Variant == "" {
		return nil, report.Report{}, common.ErrNoVariant
	}
	t, ok := translators[b]
	if !ok {
		return nil, report.Report{}, fmt.Errorf("Butane %s is not one ignigen translates (%s: those whose translation is Ignition 3.4.0)", b, Translatable())
	}
	return t(src, opts)
}
