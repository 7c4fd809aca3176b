// Package output writes files durably: a whole output directory swapped in at once, or single
// files published atomically. A crash leaves the old bytes or the new, never a mix.
package output
