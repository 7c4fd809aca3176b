//go:build integration

package delivery

import (
	"encoding/json"

	"github.com/ignigen/ignigen/internal/osprofile"
	"github.com/ignigen/ignigen/profiles"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// fwCfgName is the fw_cfg key of the example topology's profile (the default), from its data.
var fwCfgName = func() string {
	p, err := osprofile.Load(profiles.FS, osprofile.Default)
	if err != nil {
		panic(err)
	}
	return p.FwCfgKey
}()
