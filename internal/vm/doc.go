// Package vm writes what starts each node as a libvirt/QEMU VM: virt-install and qemu-system-x86_64 scripts and cluster.sh.
package vm
