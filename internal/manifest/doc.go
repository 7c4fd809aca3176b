// Package manifest holds manifest.json's types and what every reader of a build output shares:
// reading it with each node config checked against its SHA-256, and the iPXE kernel arguments
// that `build`'s profile, `serve` and the matchbox export agree on.
package manifest
