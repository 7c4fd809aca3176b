package topology

import (
	"regexp"
	"strings"
)

var (
	imageTagRE      = bounded(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`, 1, 128)
	imageDigestRE   = bounded(`^sha256:[a-f0-9]*$`, 71, 71)
	imageRepoPartRE = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*$`)
)

// image checks a container image reference names its registry and is pinned to a tag or
// digest, never latest.
func (v *validator) image(path, ref string) string {
	name, tag, digest := splitImage(ref)
	example := map[string]string{"images.keepalived": DefaultKeepalived, "images.haproxy": DefaultHAProxy, "images.ciliumCLI": DefaultCiliumCLI, "images.helm": DefaultHelm}[path]
	hint := "pin an exact tag, e.g. " + example
	switch {
	case !imageRepositoryOK(name):
		v.errorf(path, hint, "%q is not a container image reference", ref)
	case !hasRegistry(name):
		v.errorf(path, registryHint(name, tag, digest, example), "image %q names no registry: Podman resolves a short name differently on each host", ref)
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

// registryHint suggests the full name of a short one, as Docker Hub (which Docker assumes) names
// it, keeping a pinned tag or digest, else taking the default's tag when it is the same image.
func registryHint(name, tag, digest, example string) string {
	full := "docker.io/" + name
	if !strings.Contains(name, "/") {
		full = "docker.io/library/" + name
	}
	switch exampleName, exampleTag, _ := splitImage(example); {
	case digest != "":
		return "write the registry in front, e.g. " + full + "@" + digest
	case tag != "" && tag != "latest":
		return "write the registry in front, e.g. " + full + ":" + tag
	case full == exampleName:
		return "write the registry in front and pin a tag, e.g. " + full + ":" + exampleTag
	default:
		return "write the registry in front and pin a tag, e.g. " + full + ":VERSION"
	}
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

// hasRegistry reports whether a repository name starts with a registry host[:port]. A short name
// is refused: Podman's short-name resolution differs per host.
func hasRegistry(name string) bool {
	first, _, qualified := strings.Cut(name, "/")
	return qualified && (strings.ContainsAny(first, ".:") || first == "localhost")
}

// imageRepositoryOK checks the path components of a repository name, after its registry if any.
func imageRepositoryOK(name string) bool {
	parts := strings.Split(name, "/")
	if hasRegistry(name) {
		parts = parts[1:]
	}
	for _, p := range parts {
		if !imageRepoPartRE.MatchString(p) {
			return false
		}
	}
	return name != ""
}
