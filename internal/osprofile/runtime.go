package osprofile

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Runtimes are the container runtimes (CRI implementations) an OS can run, and the one a
// topology gets when kubernetes.runtime is not written. In profile.yaml:
//
//	runtimes:
//	  default: containerd
//	  containerd: {criSocket: ..., service: ..., install: builtin}
//	  crio: {criSocket: ..., service: ..., install: sysext, sysext: {...}, mask: {...}}
type Runtimes struct {
	Default string `yaml:"default"`
	// Known maps a runtime's name (what kubernetes.runtime says) to its facts.
	Known map[string]Runtime `yaml:",inline"`
}

// Runtime is every fact about one container runtime on one OS that the layers need. Every
// decision about the runtime (kubeadm's criSocket, the units, the image) reads it.
type Runtime struct {
	// CRISocket is the CRI endpoint: kubeadm's nodeRegistration.criSocket, which kubeadm hands
	// on to the kubelet.
	CRISocket string `yaml:"criSocket"`
	// Service is the systemd unit that runs it: enabled on Kubernetes members, and kubeadm's
	// units start after it.
	Service string `yaml:"service"`
	// Install is how it gets onto the node: builtin (part of the OS) or sysext (an image the
	// config downloads, described by Sysext).
	Install string `yaml:"install"`
	// Sysext is the runtime's system extension image (install: sysext).
	Sysext *RuntimeSysext `yaml:"sysext"`
	// Mask is what the OS ships that must not run beside this runtime.
	Mask RuntimeMask `yaml:"mask"`
	// Config is a configuration file the layers write for the runtime, or nil (the OS's own).
	Config *RuntimeConfig `yaml:"config"`
}

// RuntimeConfig is a file the Kubernetes layer writes for the runtime: Template (a file of the
// profile's files/) rendered to Path, replacing the OS's own.
type RuntimeConfig struct {
	Path     string `yaml:"path"`
	Template string `yaml:"template"`
}

// Runtime install methods.
const (
	InstallBuiltin = "builtin"
	InstallSysext  = "sysext"
)

// RuntimeSysext is a runtime's sysext image: placed under /opt/extensions/<Name>/ and linked
// as /etc/extensions/<Name>.raw.
type RuntimeSysext struct {
	Name string `yaml:"name"`
	// Image is the file name, with {version} (the runtime's v1.X.Y) and {arch} (the profile's
	// kubernetes.arch name) filled in.
	Image string `yaml:"image"`
	// KubernetesMinor: the runtime's minor version must be Kubernetes' (CRI-O's releases follow
	// Kubernetes' minors), so the topology's runtimeVersion is checked against kubernetes.version.
	KubernetesMinor bool `yaml:"kubernetesMinor"`
}

// RuntimeMask lists what the config masks so that only the chosen runtime runs.
type RuntimeMask struct {
	// Sysexts are built-in system extensions masked by linking /etc/extensions/<name>.raw to
	// /dev/null (Flatcar's containerd-flatcar, docker-flatcar).
	Sysexts []string `yaml:"sysexts"`
	// Units are systemd units masked (linked to /dev/null under /etc/systemd/system).
	Units []string `yaml:"units"`
}

// RuntimeNames lists the runtimes the profile can run, the default first, then by name.
func (p *Profile) RuntimeNames() []string {
	names := slices.Sorted(maps.Keys(p.Runtimes.Known))
	if i := slices.Index(names, p.Runtimes.Default); i > 0 {
		names = append(append([]string{names[i]}, names[:i]...), names[i+1:]...)
	}
	return names
}

// Runtime returns the facts of runtime name, and whether the profile can run it.
func (p *Profile) Runtime(name string) (Runtime, bool) {
	rt, ok := p.Runtimes.Known[name]
	return rt, ok
}

// RuntimeImage is the file name of runtime rt's sysext image for version (v1.X.Y) on arch.
func (p *Profile) RuntimeImage(rt Runtime, version, arch string) string {
	if rt.Sysext == nil {
		return ""
	}
	return strings.NewReplacer("{version}", version, "{arch}", p.Kubernetes.Arch[arch]).Replace(rt.Sysext.Image)
}

// checkRuntimes refuses runtime data the layers could not use.
func (p *Profile) checkRuntimes() error {
	var errs []error
	if len(p.Runtimes.Known) == 0 {
		return errors.New("runtimes lists no container runtime")
	}
	if _, ok := p.Runtimes.Known[p.Runtimes.Default]; !ok {
		errs = append(errs, fmt.Errorf("runtimes.default %q is not one of the runtimes listed (%s)", p.Runtimes.Default, strings.Join(slices.Sorted(maps.Keys(p.Runtimes.Known)), ", ")))
	}
	for _, name := range slices.Sorted(maps.Keys(p.Runtimes.Known)) {
		rt := p.Runtimes.Known[name]
		at := "runtimes." + name
		if !strings.HasPrefix(rt.CRISocket, "unix:///") {
			errs = append(errs, fmt.Errorf("%s.criSocket %q is not a unix:/// URL", at, rt.CRISocket))
		}
		if !strings.HasSuffix(rt.Service, ".service") {
			errs = append(errs, fmt.Errorf("%s.service %q is not a .service unit", at, rt.Service))
		}
		if c := rt.Config; c != nil && (!strings.HasPrefix(c.Path, "/") || c.Template == "") {
			errs = append(errs, fmt.Errorf("%s.config needs an absolute path and a template", at))
		}
		switch rt.Install {
		case InstallBuiltin:
			if rt.Sysext != nil {
				errs = append(errs, fmt.Errorf("%s: a builtin runtime has no sysext", at))
			}
		case InstallSysext:
			switch {
			case rt.Sysext == nil || rt.Sysext.Name == "":
				errs = append(errs, fmt.Errorf("%s.sysext.name is missing", at))
			case !strings.Contains(rt.Sysext.Image, "{version}"):
				errs = append(errs, fmt.Errorf("%s.sysext.image %q lacks {version}", at, rt.Sysext.Image))
			case strings.Contains(rt.Sysext.Image, "{arch}") && p.Kubernetes.Arch[DefaultArch] == "":
				errs = append(errs, fmt.Errorf("%s.sysext.image needs kubernetes.arch to name %s", at, DefaultArch))
			}
		default:
			errs = append(errs, fmt.Errorf("%s.install %q is neither %s nor %s", at, rt.Install, InstallBuiltin, InstallSysext))
		}
		if slices.Contains(rt.Mask.Units, rt.Service) {
			errs = append(errs, fmt.Errorf("%s.mask.units masks the runtime's own %s", at, rt.Service))
		}
	}
	return errors.Join(errs...)
}
