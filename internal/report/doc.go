// Package report collects located diagnostics (file:line:col, field path, hint) about an input.
package report
