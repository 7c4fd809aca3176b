// Package profiles embeds the OS profiles: Butane layer templates and the files they place.
package profiles

import "embed"

// FS holds one directory per OS profile, each with layers/*.bu and files/*.
//
//go:embed flatcar
var FS embed.FS
