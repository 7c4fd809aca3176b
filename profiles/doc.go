// Package profiles embeds the OS profiles: per profile its data (profile.yaml), Butane layer
// templates and the files they place; shared/ holds the OS-neutral file templates.
package profiles

import "embed"

// FS holds one directory per OS profile, each with profile.yaml, layers/*.bu and files/*, and
// shared/files/* that every profile includes. Adding a profile directory needs no Go code.
//
//go:embed */profile.yaml */layers */files
var FS embed.FS
