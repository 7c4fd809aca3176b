package topology

import _ "embed"

// Example is the commented topology `ignigen init` prints; `ignigen build` accepts it unchanged.
//
//go:embed example.yaml
var Example []byte
