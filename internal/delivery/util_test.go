//go:build integration

package delivery

import (
	"encoding/json"
	"strings"
	"sync"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncLog) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncLog) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
