// Package testkit holds helpers shared by ignigen's heavy test suites (the integration suite in
// pkg/integration, the HA test): resolving the cached real tools (scripts/tools.sh), building a
// topology with the CLI, serving the Kubernetes sysext from loopback, and applying an Ignition
// config with the real ignition binary to a scratch root shaped like Flatcar.
//
// It is only imported by tests. Most helpers need root (Ignition chowns files, keepalived and
// HAProxy run in private mount and network namespaces) and the tools of scripts/tools.sh.
package testkit
