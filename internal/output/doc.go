// Package output replaces an output directory atomically: a failed build leaves the old one untouched.
package output
