// Package plan compares a build with the previous build of the same output directory: what a running cluster cannot absorb, and what each node must do.
package plan
