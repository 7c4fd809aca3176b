// Package secrets creates, stores and checks the cluster's secrets bundle: the only random input of a build.
package secrets
