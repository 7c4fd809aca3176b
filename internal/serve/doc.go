// Package serve serves a build output directory to PXE-booting machines: iPXE scripts and Ignition configs by MAC.
package serve
