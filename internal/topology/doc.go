// Package topology parses and validates the cluster description file into a model.Cluster.
package topology
