// Package kubeconfig writes and reads the one-cluster, one-user kubeconfig ignigen hands the operator.
package kubeconfig
