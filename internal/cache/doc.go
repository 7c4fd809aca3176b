// Package cache keeps what a build computed from rendered layer text (Butane translations,
// compiled node configs) between builds, so a rebuild of an unchanged or slightly changed
// topology translates nothing it translated before (README "Performance").
//
// An entry is addressed by a hash of its inputs and of the running executable's build ID, so a
// different ignigen (or Butane, or Ignition) never reads another's entries. Layer text carries
// the cluster's keys and token, so each entry is sealed with AES-256-GCM under a key derived from
// that same text: reading an entry needs the text it was made from, which the cache does not
// hold. The seal also makes corrupt or truncated entries (a crash, a full disk, an edit) fail to
// open: they count as misses and are written again. Files are 0600 in a 0700 directory.
package cache
