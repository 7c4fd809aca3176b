package topology

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ignigen/ignigen/internal/model"
	"github.com/ignigen/ignigen/internal/osprofile"
)

// runtime resolves kubernetes.runtime against the OS profile's runtimes (profile.yaml
// runtimes): the profile's default when unset; a runtime no profile knows, or one this profile
// cannot run, is reported naming the runtimes the profile has. The facts come from the profile;
// the version and checksum of a runtime installed as a sysext from the topology.
func (v *validator) runtime(f *File, os *osprofile.Profile, k model.Kubernetes) model.Runtime {
	name := orDefault(f.Kubernetes.Runtime, os.Runtimes.Default)
	rt, ok := os.Runtime(name)
	if !ok {
		v.unknownRuntime(name, os)
		return model.Runtime{Name: name, Runtime: os.Runtimes.Known[os.Runtimes.Default]}
	}
	out := model.Runtime{Name: name, Runtime: rt}
	if rt.Install != osprofile.InstallSysext {
		for _, p := range []string{"kubernetes.runtimeVersion", "sysext.runtimeSHA256"} {
			if v.idx.has(p) {
				v.errorf(p, "remove it: the OS's own "+name+" has no image to pin", "%s is built into %s: %s does not apply", name, os.Name, p)
			}
		}
		return out
	}

	example := "v1.MINOR.PATCH"
	if k.Minor != "" {
		example = k.Minor + ".PATCH"
	}
	imageHint := fmt.Sprintf("write the %s release whose image %s is under sysext.baseURL", name, os.RuntimeImage(rt, example, osprofile.DefaultArch))
	out.Version = f.Kubernetes.RuntimeVersion
	switch m := k8sVersionRE.FindStringSubmatch(out.Version); {
	case out.Version == "":
		// Reported at kubernetes.runtime, the field that needs it; named as the missing one.
		v.r.Errorf(v.idx.pos("kubernetes.runtime"), "kubernetes.runtimeVersion", imageHint+", as kubernetes.runtimeVersion",
			"container runtime %s needs kubernetes.runtimeVersion: %s is downloaded as a system extension of that version", name, name)
	case m == nil:
		v.errorf("kubernetes.runtimeVersion", imageHint, "%s version %q is not of the form v1.MINOR.PATCH", name, out.Version)
	default:
		out.Minor = "v1." + m[1]
		if rt.Sysext.KubernetesMinor && k.Minor != "" && out.Minor != k.Minor {
			v.errorf("kubernetes.runtimeVersion", imageHint+" (its minor must be Kubernetes')",
				"%s %s does not match Kubernetes %s: %s releases follow Kubernetes minors", name, out.Version, k.Version, name)
		}
		out.Image = os.RuntimeImage(rt, out.Version, osprofile.DefaultArch)
	}
	out.SHA256 = strings.ToLower(f.Sysext.RuntimeSHA256)
	if out.SHA256 != "" && !sha256RE.MatchString(out.SHA256) {
		v.errorf("sysext.runtimeSHA256", "give the 64 hex digits of `sha256sum "+orDefault(out.Image, os.RuntimeImage(rt, example, osprofile.DefaultArch))+"`, or omit it", "%q is not a SHA-256 digest", f.Sysext.RuntimeSHA256)
	}
	return out
}

// unknownRuntime reports a runtime the profile cannot run: one no profile knows (with a
// suggestion), or one other profiles run.
func (v *validator) unknownRuntime(name string, os *osprofile.Profile) {
	have := os.RuntimeNames()
	list := fmt.Sprintf("%s runs %s (the default)", os.Name, have[0])
	if len(have) > 1 {
		list += " or " + strings.Join(have[1:], ", ")
	}
	if others := profilesRunning(name); len(others) > 0 {
		v.errorf("kubernetes.runtime", list+"; "+name+" runs on OS profile "+strings.Join(others, ", "),
			"OS profile %s cannot run container runtime %q", os.Name, name)
		return
	}
	hint := list
	if s := suggest(name, have); s != "" {
		hint = fmt.Sprintf("did you mean %q? %s", s, list)
	}
	v.errorf("kubernetes.runtime", hint, "unknown container runtime %q", name)
}

// profilesRunning lists the profiles (embedded and on $IGNIGEN_PROFILE_PATH) that can run
// runtime name; a profile that does not load is skipped (cluster.profile reports its own).
func profilesRunning(name string) []string {
	roots := osprofile.Roots()
	names, err := osprofile.Names(roots)
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range names {
		if p, err := osprofile.Load(roots, n); err == nil {
			if _, ok := p.Runtime(name); ok {
				out = append(out, n)
			}
		}
	}
	return slices.Clip(out)
}
