// Package cli implements the ignigen commands; cmd/ignigen only calls Run.
package cli
