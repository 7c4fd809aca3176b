package secrets

import (
	"crypto/rand"
	"fmt"
	"io"
	"time"
)

// NewToken mints a bootstrap token of kubeadm's form [a-z0-9]{6}.[a-z0-9]{16} from r.
func NewToken(r io.Reader) (string, error) {
	id, err := randomString(r, 6)
	if err != nil {
		return "", err
	}
	secret, err := randomString(r, 16)
	if err != nil {
		return "", err
	}
	return id + "." + secret, nil
}

// TokenID is the public half of a bootstrap token, the part kubeadm names its Secret by and
// that may be printed; the rest is the secret.
func TokenID(token string) string {
	if m := TokenRE.FindStringSubmatch(token); m != nil {
		return m[1]
	}
	return ""
}

// TokenExpiry says when the bundle's bootstrap token stops working and whether that instant is
// known. After `ignigen token create` the bundle records it. Before that, the token is the
// one kubeadm init registered with the topology's TTL, counted from init, which was after the
// bundle's creation: createdAt + ttl is then the earliest it can have expired. A ttl of 0
// never expires (ok is false).
func (b *Bundle) TokenExpiry(ttl time.Duration) (at time.Time, recorded, ok bool) {
	if b.BootstrapTokenExpires != nil {
		return *b.BootstrapTokenExpires, true, true
	}
	if ttl <= 0 {
		return time.Time{}, false, false
	}
	return b.CreatedAt.Add(ttl), false, true
}

// SetToken replaces the bootstrap token and records its expiry (second precision, UTC, as the
// RFC 3339 expiration kubeadm writes into the token's Secret).
func (b *Bundle) SetToken(token string, expires time.Time) error {
	if !TokenRE.MatchString(token) {
		return fmt.Errorf("bootstrap token is not of the form [a-z0-9]{6}.[a-z0-9]{16}")
	}
	e := expires.UTC().Truncate(time.Second)
	b.BootstrapToken, b.BootstrapTokenExpires = token, &e
	return nil
}

// newToken is NewToken from the system's randomness.
func newToken() (string, error) { return NewToken(rand.Reader) }
