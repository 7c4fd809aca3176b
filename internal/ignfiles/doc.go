// Package ignfiles reads the files an Ignition config writes, decoding data URLs and compression.
package ignfiles
