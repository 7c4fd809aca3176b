package secrets

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ignigen/ignigen/internal/model"
)

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, err := NewToken(rand.Reader)
		require.NoError(t, err)
		require.Regexp(t, TokenRE, tok)
		require.False(t, seen[tok])
		seen[tok] = true
		assert.Equal(t, tok[:6], TokenID(tok))
	}
	assert.Empty(t, TokenID("not-a-token"))
	_, err := NewToken(strings.NewReader("short"))
	assert.Error(t, err)
}

// A bundle written before bootstrapTokenExpires existed loads, and marshals to the same bytes;
// one with the field round-trips byte for byte too.
func TestTokenExpiresRoundTrip(t *testing.T) {
	b, err := New(model.ECDSAP256, now)
	require.NoError(t, err)
	old, err := b.Marshal()
	require.NoError(t, err)
	assert.NotContains(t, string(old), "bootstrapTokenExpires")
	got, err := Unmarshal(old, now)
	require.NoError(t, err)
	again, err := got.Marshal()
	require.NoError(t, err)
	assert.Equal(t, string(old), string(again))

	tok, err := NewToken(rand.Reader)
	require.NoError(t, err)
	require.NoError(t, got.SetToken(tok, now.Add(24*time.Hour+500*time.Millisecond).In(time.FixedZone("X", 3600))))
	withExp, err := got.Marshal()
	require.NoError(t, err)
	assert.Contains(t, string(withExp), "bootstrapTokenExpires: 2026-11-25T12:00:00Z\n")
	back, err := Unmarshal(withExp, now)
	require.NoError(t, err)
	assert.Equal(t, got, back)
	again, err = back.Marshal()
	require.NoError(t, err)
	assert.Equal(t, string(withExp), string(again))
	assert.Error(t, got.SetToken("ABCDEF.0123456789abcdef", now))
}

func TestTokenExpiry(t *testing.T) {
	recorded := now.Add(48 * time.Hour)
	cases := []struct {
		name                 string
		expires              *time.Time
		ttl                  time.Duration
		want                 time.Time
		wantRecorded, wantOK bool
	}{
		{"first token, topology TTL", nil, 168 * time.Hour, now.Truncate(time.Second).Add(168 * time.Hour), false, true},
		{"first token, never expires", nil, 0, time.Time{}, false, false},
		{"token create recorded it", &recorded, 168 * time.Hour, recorded, true, true},
		{"recorded wins over TTL 0", &recorded, 0, recorded, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &Bundle{CreatedAt: now, BootstrapTokenExpires: tc.expires}
			at, rec, ok := b.TokenExpiry(tc.ttl)
			assert.Equal(t, tc.want, at)
			assert.Equal(t, tc.wantRecorded, rec)
			assert.Equal(t, tc.wantOK, ok)
		})
	}
}
