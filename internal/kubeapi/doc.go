// Package kubeapi is the little of the Kubernetes API ignigen calls itself, over plain
// net/http with a kubeconfig's client certificate and CA (no client-go).
package kubeapi
