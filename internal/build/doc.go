// Package build turns a validated cluster and its secrets into every output file, in memory.
package build
