// Package layers renders a node's stack of Butane layer templates and flattens it into one validated Ignition config.
package layers
