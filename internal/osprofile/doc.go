// Package osprofile reads an OS profile's data (profiles/<name>/profile.yaml): what ignigen must
// know about an operating system beyond its Butane layers. Every OS-specific fact outside the
// layer templates comes from here, so a new profile is files only.
package osprofile
