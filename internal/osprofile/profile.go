package osprofile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// File is the name of a profile's data file inside its directory.
const File = "profile.yaml"

// SharedDir holds the OS-neutral templates (kubeadm, HAProxy, keepalived) every profile includes.
// It has no profile.yaml, so it is not a profile.
const SharedDir = "shared"

// Profile is one OS profile's data.
type Profile struct {
	Name string `yaml:"-"`
	// Description is one line for listings and docs.
	Description string `yaml:"description"`
	// TemplatesFrom names a profile whose layers and files this one starts from; its own
	// layers/ and files/ then replace templates of the same name. Data is never inherited.
	TemplatesFrom string `yaml:"templatesFrom"`
	// Butane is the variant and version the layers are written in; snippets must match it.
	Butane Butane `yaml:"butane"`
	// FwCfgKey is the QEMU fw_cfg entry the OS's Ignition reads its config from.
	FwCfgKey string   `yaml:"fwCfgKey"`
	Boot     Boot     `yaml:"boot"`
	Defaults Defaults `yaml:"defaults"`
	// Kubernetes says where the Kubernetes binaries come from.
	Kubernetes Kubernetes `yaml:"kubernetes"`
	// Runtimes are the container runtimes the OS can run and its default (runtime.go).
	Runtimes Runtimes `yaml:"runtimes"`
	// Network is how the layers configure the node network: networkd or networkmanager. The
	// shared node layer includes files/network-<network>.yaml, so the value picks a template.
	Network string `yaml:"network"`
	// Podman says whether Podman (and Quadlet) is built in or an opt-in sysext to enable.
	Podman string `yaml:"podman"`
	// Updates names the OS's update agent whose reboots ignigen coordinates (zincati), or is
	// empty; the node layer includes files/updates-<updates>.yaml on control-plane and VIP nodes.
	Updates string `yaml:"updates"`
	// User is the OS's login user, which the configs give SSH keys and never create.
	User    User `yaml:"user"`
	SELinux bool `yaml:"selinux"`
}

// Butane names a Butane specification.
type Butane struct {
	Variant string `yaml:"variant"`
	Version string `yaml:"version"`
}

func (b Butane) String() string { return b.Variant + " " + b.Version }

// Boot holds the PXE kernel arguments the OS needs besides the config URL.
type Boot struct {
	// FirstBootArgs make the OS run Ignition on this boot (e.g. flatcar.first_boot=1).
	FirstBootArgs []string `yaml:"firstBootArgs"`
	// KernelArgs are further arguments every PXE boot of this OS needs (e.g. a live rootfs URL).
	// {base} is replaced with the URL of the server the boot files come from (`ignigen serve`).
	KernelArgs []string `yaml:"kernelArgs"`
	// ConfigURLArg is the kernel argument that names the Ignition config's URL.
	ConfigURLArg string `yaml:"configURLArg"`
}

// Defaults are the topology defaults that depend on the OS.
type Defaults struct {
	VMImage       string   `yaml:"vmImage"`
	PXEKernelURL  string   `yaml:"pxeKernelURL"`
	PXEInitrdURLs []string `yaml:"pxeInitrdURLs"`
	// SysextBaseURL is the default sysext.baseURL (source sysext).
	SysextBaseURL string `yaml:"sysextBaseURL"`
	// BinariesBaseURL is the default binaries.baseURL (source binaries).
	BinariesBaseURL string `yaml:"binariesBaseURL"`
}

// Kubernetes locates the Kubernetes binaries. Source sysext: a sysext image named by Image;
// source binaries: each of Files downloaded from URL. {version} (v1.X.Y), {arch} (Arch's name
// for the node's architecture), {name} (the file) and {baseURL} are filled in.
type Kubernetes struct {
	Source string            `yaml:"source"`
	Image  string            `yaml:"image"`
	Files  []string          `yaml:"files"`
	URL    string            `yaml:"url"`
	Arch   map[string]string `yaml:"arch"`
	// BinDir is where kubeadm, kubelet and kubectl are on the node (units and scripts call them there).
	BinDir string `yaml:"binDir"`
}

// Kubernetes sources.
const (
	SourceSysext   = "sysext"
	SourceBinaries = "binaries"
)

// BinaryFiles are the files a profile with source binaries downloads.
var BinaryFiles = []string{"kubeadm", "kubelet", "kubectl"}

// BinaryURL is the download URL of the Kubernetes file name (source binaries).
func (p *Profile) BinaryURL(baseURL, version, arch, name string) string {
	r := strings.NewReplacer("{baseURL}", baseURL, "{version}", version, "{arch}", p.Kubernetes.Arch[arch], "{name}", name)
	return r.Replace(p.Kubernetes.URL)
}

// User is the OS's login user.
type User struct {
	Name string `yaml:"name"`
	UID  int    `yaml:"uid"`
	Home string `yaml:"home"`
}

// DefaultArch is the architecture nodes have until the topology can say otherwise.
const DefaultArch = "amd64"

// SysextImage is the file name of the Kubernetes image for version (v1.X.Y) on arch.
func (p *Profile) SysextImage(version, arch string) string {
	r := strings.NewReplacer("{version}", version, "{arch}", p.Kubernetes.Arch[arch])
	return r.Replace(p.Kubernetes.Image)
}

// BootArgs are the kernel arguments that make the OS apply the config at configURL on this
// boot: the first-boot arguments, the OS's own (with {base} replaced by base, the URL of the
// server holding the boot files), then the config URL.
func (p *Profile) BootArgs(base, configURL string) []string {
	out := append([]string{}, p.Boot.FirstBootArgs...)
	for _, a := range p.Boot.KernelArgs {
		out = append(out, strings.ReplaceAll(a, "{base}", base))
	}
	return append(out, p.Boot.ConfigURLArg+"="+configURL)
}

// Reserved reports whether a user-written kernel argument is one the profile sets itself.
func (p *Profile) Reserved(arg string) bool {
	key, _, _ := strings.Cut(arg, "=")
	for _, a := range append(append([]string{p.Boot.ConfigURLArg}, p.Boot.FirstBootArgs...), p.Boot.KernelArgs...) {
		if k, _, _ := strings.Cut(a, "="); k == key {
			return true
		}
	}
	return false
}

// Load reads name/profile.yaml from fsys strictly (an unknown field is an error) and checks it.
func Load(fsys fs.FS, name string) (*Profile, error) {
	raw, err := fs.ReadFile(fsys, path.Join(name, File))
	if err != nil {
		return nil, fmt.Errorf("profile %q: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	p := &Profile{Name: name}
	if err := dec.Decode(p); err != nil {
		return nil, fmt.Errorf("profile %q: %s: %w", name, File, err)
	}
	if err := p.check(fsys); err != nil {
		return nil, fmt.Errorf("profile %q: %s: %w", name, File, err)
	}
	return p, nil
}

// check refuses data the rest of ignigen could not use, so a bad profile fails when it loads.
func (p *Profile) check(fsys fs.FS) error {
	var errs []error
	need := func(field, v string) {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is missing", field))
		}
	}
	need("butane.variant", p.Butane.Variant)
	need("butane.version", p.Butane.Version)
	if _, ok := translators[p.Butane]; !ok && p.Butane.Variant != "" && p.Butane.Version != "" {
		errs = append(errs, fmt.Errorf("butane %s is not one ignigen translates (%s)", p.Butane, Translatable()))
	}
	need("fwCfgKey", p.FwCfgKey)
	need("boot.configURLArg", p.Boot.ConfigURLArg)
	need("defaults.vmImage", p.Defaults.VMImage)
	need("defaults.pxeKernelURL", p.Defaults.PXEKernelURL)
	need("user.name", p.User.Name)
	need("kubernetes.binDir", p.Kubernetes.BinDir)
	need("user.home", p.User.Home)
	if len(p.Defaults.PXEInitrdURLs) == 0 {
		errs = append(errs, errors.New("defaults.pxeInitrdURLs is empty"))
	}
	var pattern string
	switch p.Kubernetes.Source {
	case SourceSysext:
		need("defaults.sysextBaseURL", p.Defaults.SysextBaseURL)
		pattern = p.Kubernetes.Image
		if !strings.Contains(pattern, "{version}") {
			errs = append(errs, fmt.Errorf("kubernetes.image %q lacks {version}", pattern))
		}
	case SourceBinaries:
		need("defaults.binariesBaseURL", p.Defaults.BinariesBaseURL)
		pattern = p.Kubernetes.URL
		for _, v := range []string{"{baseURL}", "{version}", "{name}"} {
			if !strings.Contains(pattern, v) {
				errs = append(errs, fmt.Errorf("kubernetes.url %q lacks %s", pattern, v))
			}
		}
		// The topology's binaries.sha256 has a field for each of these, and only these.
		if !slices.Equal(p.Kubernetes.Files, BinaryFiles) {
			errs = append(errs, fmt.Errorf("kubernetes.files %v must be %v", p.Kubernetes.Files, BinaryFiles))
		}
	default:
		errs = append(errs, fmt.Errorf("kubernetes.source %q is not one ignigen knows (%s, %s)", p.Kubernetes.Source, SourceSysext, SourceBinaries))
	}
	if p.Kubernetes.Arch[DefaultArch] == "" && strings.Contains(pattern, "{arch}") {
		errs = append(errs, fmt.Errorf("kubernetes.arch has no name for %s", DefaultArch))
	}
	if p.Network != "networkd" && p.Network != "networkmanager" {
		errs = append(errs, fmt.Errorf("network %q is neither networkd nor networkmanager", p.Network))
	}
	if p.Podman != "builtin" && p.Podman != "sysext" {
		errs = append(errs, fmt.Errorf("podman %q is neither builtin nor sysext", p.Podman))
	}
	if p.Updates != "" && p.Updates != "zincati" {
		errs = append(errs, fmt.Errorf("updates %q is not an update agent ignigen coordinates (zincati, or empty)", p.Updates))
	}
	if err := p.checkRuntimes(); err != nil {
		errs = append(errs, err)
	}
	if p.TemplatesFrom == p.Name {
		errs = append(errs, errors.New("templatesFrom names the profile itself"))
	} else if p.TemplatesFrom != "" {
		if _, err := fs.Stat(fsys, path.Join(p.TemplatesFrom, File)); err != nil {
			errs = append(errs, fmt.Errorf("templatesFrom: %w", err))
		}
	}
	return errors.Join(errs...)
}

// String is the profile's name: a cluster printed with %+v (tests compare those) shows which
// profile it has, not where its data happens to live in memory.
func (p *Profile) String() string { return p.Name }
