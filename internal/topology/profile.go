package topology

import (
	"fmt"
	"strings"

	"github.com/ignigen/ignigen/internal/osprofile"
)

// profile resolves cluster.profile against the profiles ignigen has (embedded, and those in
// $IGNIGEN_PROFILE_PATH). An unknown or broken profile is reported, and validation goes on with
// the default profile's data so the other problems are reported too.
func (v *validator) profile(name string) *osprofile.Profile {
	roots := osprofile.Roots()
	known, err := osprofile.Names(roots)
	if err != nil {
		v.errorf("cluster.profile", "reinstall ignigen or fix $"+osprofile.PathEnv, "cannot list OS profiles: %v", err)
		return defaultOS
	}
	found := false
	for _, k := range known {
		found = found || k == name
	}
	if !found {
		hint := "use one of " + strings.Join(known, ", ") + ", or add a profile directory to $" + osprofile.PathEnv
		if s := suggest(name, known); s != "" {
			hint = fmt.Sprintf("did you mean %q? Known profiles: %s", s, strings.Join(known, ", "))
		}
		v.errorf("cluster.profile", hint, "unknown OS profile %q", name)
		return defaultOS
	}
	p, err := osprofile.Load(roots, name)
	if err != nil {
		v.errorf("cluster.profile", "fix the profile's "+osprofile.File, "%v", err)
		return defaultOS
	}
	return p
}
