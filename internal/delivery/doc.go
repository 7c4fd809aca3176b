// Package delivery holds end-to-end tests (build tag integration) that deliver built configs to QEMU guests and matchbox.
package delivery
