// Package matchbox exports a build output as matchbox profiles, groups (selected by MAC) and Ignition files.
package matchbox
