package topology

import (
	"regexp"
	"strings"
)

var (
	imageTagRE      = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	imageDigestRE   = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	imageRepoPartRE = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*$`)
)

// image checks a container image reference is pinned to a tag or digest, never latest.
func (v *validator) image(path, ref string) string {
	name, tag, digest := splitImage(ref)
	hint := "pin an exact tag, e.g. " + map[string]string{"images.keepalived": DefaultKeepalived, "images.haproxy": DefaultHAProxy, "images.ciliumCLI": DefaultCiliumCLI}[path]
	switch {
	case !imageNameOK(name):
		v.errorf(path, hint, "%q is not a container image reference", ref)
	case digest != "" && !imageDigestRE.MatchString(digest):
		v.errorf(path, "write a digest as sha256:<64 hex digits>", "image %q has a malformed digest", ref)
	case tag == "" && digest == "":
		v.errorf(path, hint, "image %q has no tag: nodes would run whatever is newest when they boot", ref)
	case tag == "latest":
		v.errorf(path, hint, "image %q uses the tag latest: nodes would run whatever is newest when they boot", ref)
	case tag != "" && !imageTagRE.MatchString(tag):
		v.errorf(path, hint, "image %q has a malformed tag", ref)
	}
	return ref
}

func splitImage(ref string) (name, tag, digest string) {
	name = ref
	if i := strings.Index(name, "@"); i >= 0 {
		name, digest = name[:i], name[i+1:]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	return name, tag, digest
}

func imageNameOK(name string) bool {
	parts := strings.Split(name, "/")
	if name == "" || len(parts) < 2 {
		return false // require a registry-qualified name: Podman's short-name resolution differs per host
	}
	for i, p := range parts {
		if i == 0 && strings.ContainsAny(p, ".:") {
			continue // registry host[:port]
		}
		if !imageRepoPartRE.MatchString(p) {
			return false
		}
	}
	return strings.ContainsAny(parts[0], ".:") || parts[0] == "localhost"
}
