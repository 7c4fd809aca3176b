// Package pki makes and reads the keys and certificates kubeadm expects, in the formats it reads.
package pki
